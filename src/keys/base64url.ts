const ALPHABET = /^[A-Za-z0-9_-]*$/;

export function base64urlEncode(data: Uint8Array | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * Decodes base64url without padding, and only in its canonical form: Node's decoder silently skips
 * stray characters and ignores non-zero trailing bits, which would let one signature stand for
 * several different strings. Returns undefined for anything else.
 */
export function base64urlDecode(text: string): Buffer | undefined {
  if (!ALPHABET.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}
