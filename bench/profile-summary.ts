/**
 * Summarises V8 CPU profiles (`node --cpu-prof`, or `npm run bench -- --cpu-prof`): the functions
 * with the most self time, and self time by package or source file. The same .cpuprofile files open
 * as a flame graph in Chrome DevTools (Performance > Load profile) or https://www.speedscope.app.
 *
 *   node --import tsx bench/profile-summary.ts FILE_OR_DIR... [--top N]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function files(paths: string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p, { recursive: true })
          .map(String)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => join(p, f))
      : [p],
  );
}

const ROOT = process.cwd();

function where(url: string): string {
  if (url === '') return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (pkg) return `npm:${pkg[1]!}`;
  if (path.startsWith('node:')) return path;
  return relative(ROOT, path);
}

function nameOf(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || '(anonymous)'} ${where(url)}${url ? `:${lineNumber + 1}` : ''}`;
}

/**
 * Self time per function (µs: each sample's interval goes to the function on top of the stack),
 * total time per function (every function on the stack, once per sample) and self time by place.
 */
function times(profile: CpuProfile): {
  byFunction: Map<string, number>;
  inclusive: Map<string, number>;
  byPlace: Map<string, number>;
  total: number;
} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byPlace = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    total += dt;
    const fn = nameOf(node);
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt);
    const place =
      node.callFrame.url === '' ? `(native) ${node.callFrame.functionName}` : where(node.callFrame.url);
    byPlace.set(place, (byPlace.get(place) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = nameOf(byId.get(cur)!);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
    }
  });
  return { byFunction, inclusive, byPlace, total };
}

function top(map: Map<string, number>, total: number, n: number): string {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([name, us]) =>
        `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`,
    )
    .join('\n');
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
const n = Number(values.top);
if (positionals.length === 0) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts FILE_OR_DIR... [--top N]\n');
  process.exit(2);
}
for (const file of files(positionals)) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const { byFunction, inclusive, byPlace, total } = times(profile);
  const idle = byFunction.get('(idle) (native)') ?? 0;
  // Percentages of the busy time: the profile also spans the idle time between runs.
  const busy = total - idle;
  for (const map of [byFunction, inclusive]) {
    map.delete('(idle) (native)');
    map.delete('(root) (native)');
  }
  byPlace.delete('(native) (idle)');
  const project = new Map([...inclusive].filter(([name]) => / (dist|src)\//.test(name)));
  process.stdout.write(
    `\n${file}\n  ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy; percentages are of busy time\n\n` +
      `Top self time by function:\n${top(byFunction, busy, n)}\n\n` +
      `Top total time (self + callees) of Licensor's own functions:\n${top(project, busy, n)}\n\n` +
      `Self time by package / file:\n${top(byPlace, busy, 15)}\n`,
  );
}
