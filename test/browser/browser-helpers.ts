import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from '../helpers/process.js';
import { cleanup } from '../helpers/cleanup.js';

/** Debian's Chromium (`apt-get install chromium`); playwright-core never downloads a browser here. */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Where the screenshots go, for people to look at (git-ignored). */
export const SCREENSHOTS = join(ROOT, 'test-output/screenshots');

/**
 * Why browser tests cannot run here, or undefined when they can. Without Chromium they are skipped
 * with a loud notice, except in CI (process.env.CI), where a missing browser is a failure.
 */
export function browserUnavailable(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`;
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') return undefined;
  process.stderr.write(`\n${'!'.repeat(78)}\n!! BROWSER TESTS SKIPPED: ${why}\n${'!'.repeat(78)}\n\n`);
  return why;
}

export interface PageProblems {
  /** Content-Security-Policy violations the page reported. */
  csp(): Promise<string[]>;
  /** Uncaught exceptions and console errors, apart from the expected HTTP refusals. */
  errors: string[];
}

/** A fresh browser (own user data directory) for one test, closed when it ends. */
export async function launchBrowser(
  t: TestContext,
  viewport = { width: 1280, height: 900 },
): Promise<BrowserContext> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing`);
  const profile = mkdtempSync(join(tmpdir(), 'licensor-chromium-'));
  const removeProfile = () => rmSync(profile, { recursive: true, force: true });
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
      reducedMotion: 'reduce',
    });
  } catch (err) {
    removeProfile();
    throw err;
  }
  // The browser first, then its profile: removed under a running browser, it can hang on close.
  cleanup(t, async () => {
    await context.close();
    removeProfile();
  });
  // tsx compiles these tests keeping function names (a call to __name around each); functions sent
  // to the page with evaluate() need that helper there too.
  await context.addInitScript({ content: 'globalThis.__name = (fn) => fn;' });
  // Runs before the page's scripts (injected by the browser, so the page's CSP does not apply).
  await context.addInitScript(() => {
    const violations: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = violations;
    document.addEventListener('securitypolicyviolation', (event) => {
      violations.push(
        `${event.violatedDirective} blocked ${event.blockedURI} (${event.sourceFile}:${event.lineNumber})`,
      );
    });
  });
  return context;
}

/** Collects what must never happen on a page: CSP violations, uncaught errors, console errors. */
export function watch(page: Page): PageProblems {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    // A refused API call (401 for a wrong token, 404 for ...) is logged by Chromium as a failed
    // resource; the page shows its detail, which the tests check.
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    errors.push(`console: ${text}`);
  });
  return {
    errors,
    csp: () =>
      page.evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? []),
  };
}

/** The whole page, or only the viewport (`fullPage: false`, for a modal dialog). */
export async function screenshot(page: Page, name: string, options = { fullPage: true }): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: options.fullPage });
  return path;
}

/**
 * Checks the page as it stands: no CSP violation, no error, no "[object Object]" or stack trace on
 * screen, every form control labelled, every button named, and readable contrast of all text.
 */
export async function checkPage(page: Page, problems: PageProblems, where: string): Promise<void> {
  assert.deepEqual(await problems.csp(), [], `${where}: CSP violations`);
  assert.deepEqual(problems.errors, [], `${where}: errors in the page`);
  const text = await page.locator('body').innerText();
  assert.doesNotMatch(
    text,
    /\[object Object\]|undefined|NaN|\n\s+at \S+ \(/,
    `${where}: raw values on screen`,
  );
  const unlabelled = await page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('input, select, textarea, button'))
      .filter((el) => el.offsetParent !== null || el.closest('dialog[open]') !== null)
      .filter((el) => {
        const labelled =
          ((el as HTMLInputElement).labels?.length ?? 0) > 0 ||
          (el.getAttribute('aria-label') ?? '').trim() !== '' ||
          el.getAttribute('aria-labelledby') !== null;
        return el.tagName === 'BUTTON' ? !labelled && (el.textContent ?? '').trim() === '' : !labelled;
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
  assert.deepEqual(unlabelled, [], `${where}: controls without a label`);
  const lowContrast = await page.evaluate(contrastProblems);
  assert.deepEqual(lowContrast, [], `${where}: text below WCAG AA contrast`);
}

/**
 * Text below 4.5:1 (3:1 for large text) against its effective background. Runs in the page: the
 * colours are the computed ones, the background the first opaque one up the tree.
 */
function contrastProblems(): string[] {
  const parse = (color: string): [number, number, number, number] => {
    const m = /rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)/.exec(color);
    return m
      ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])]
      : [0, 0, 0, 0];
  };
  const luminance = ([r, g, b]: number[]) => {
    const [R, G, B] = [r!, g!, b!].map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * R! + 0.7152 * G! + 0.0722 * B!;
  };
  const background = (el: Element | null): [number, number, number] => {
    for (let node = el; node !== null; node = node.parentElement) {
      const [r, g, b, a] = parse(getComputedStyle(node).backgroundColor);
      if (a >= 0.99) return [r, g, b];
    }
    return [255, 255, 255];
  };
  const problems: string[] = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set<Element>();
  for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
    const el = node.parentElement;
    if (el === null || seen.has(el) || (node.textContent ?? '').trim() === '') continue;
    seen.add(el);
    const style = getComputedStyle(el);
    if (el.closest('[hidden], .visually-hidden, svg, option') !== null || style.visibility === 'hidden')
      continue;
    if (el.offsetParent === null && el.closest('dialog[open]') === null) continue;
    if (el.closest('button:disabled') !== null) continue; // disabled controls are exempt (WCAG 1.4.3)
    const fg = parse(style.color);
    const bg = background(el);
    const [l1, l2] = [luminance(fg), luminance(bg)].sort((a, b) => b - a) as [number, number];
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5))
      problems.push(
        `${ratio.toFixed(2)}:1 "${(node.textContent ?? '').trim().slice(0, 40)}" (${style.color} on rgb(${bg.join(', ')}))`,
      );
  }
  return problems;
}
