/**
 * JSON.parse keeps the last of two members with the same name, while other parsers keep the first;
 * a signed payload that says two things at once must be refused, not guessed at. This scanner walks
 * already-valid JSON text (run it after JSON.parse succeeded) and reports a repeated member name.
 */
export function findDuplicateMember(json: string): string | undefined {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const ch = json[i];
    if (ch === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (ch === '[') {
      stack.push(null);
      expectKey = false;
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      expectKey = false;
    } else if (ch === ',') {
      expectKey = stack.at(-1) instanceof Set;
    } else if (ch === '"') {
      const end = endOfString(json, i);
      if (expectKey) {
        const name = JSON.parse(json.slice(i, end + 1)) as string;
        const members = stack.at(-1);
        if (members?.has(name)) return name;
        members?.add(name);
        expectKey = false;
      }
      i = end;
    }
  }
  return undefined;
}

/**
 * How deeply arrays and objects nest in already-valid JSON text (0 for a scalar). JSON.parse copes
 * with any depth, but JSON.stringify and other recursive code overflow the stack a few thousand
 * levels down, so a verified payload must stay shallow enough to be stored and shown again.
 */
export function maxNestingDepth(json: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < json.length; i++) {
    const ch = json[i];
    if (ch === '{' || ch === '[') max = Math.max(max, ++depth);
    else if (ch === '}' || ch === ']') depth--;
    else if (ch === '"') i = endOfString(json, i);
  }
  return max;
}

function endOfString(json: string, start: number): number {
  for (let i = start + 1; i < json.length; i++) {
    if (json[i] === '\\') i++;
    else if (json[i] === '"') return i;
  }
  return json.length - 1;
}
