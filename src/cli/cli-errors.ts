/** Exit codes (README, "Command line"): 0 success, 1 a refused operation, 2 a usage error. */
export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

/** A mistake in how the command was called; exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An operation that was refused (by the server, or by a check such as a bad signature); exits 1. */
export class RefusedError extends Error {
  override readonly name = 'RefusedError';
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The server could not be reached, so nothing was refused or done; exits 1 with one line. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}
