import { readFileSync } from 'node:fs';
import { UsageError } from './cli-errors.js';

/** A license key from the argument, a file, or stdin ("-"), trimmed. */
export function readKeyInput(arg: string | undefined, file: string | undefined): string {
  if (arg !== undefined && file !== undefined) throw new UsageError('give the key or --file, not both');
  let text: string;
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new UsageError(`--file ${file}: cannot be read`);
    }
  } else if (arg === '-' || (arg === undefined && !process.stdin.isTTY)) {
    text = readFileSync(0, 'utf8');
  } else if (arg !== undefined) {
    text = arg;
  } else {
    throw new UsageError('give a license key, --file FILE, or - to read stdin');
  }
  const key = text.trim();
  if (key === '') throw new UsageError('the license key is empty');
  return key;
}
