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

function endOfString(json: string, start: number): number {
  for (let i = start + 1; i < json.length; i++) {
    if (json[i] === '\\') i++;
    else if (json[i] === '"') return i;
  }
  return json.length - 1;
}
