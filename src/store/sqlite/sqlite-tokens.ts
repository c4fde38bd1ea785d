import { changeAudit } from '../../domain/changes.js';
import { bootstrapToken, checkBootstrapSecret, planRevokeToken } from '../../domain/tokens.js';
import type { ChangeContext, NewToken, TokenRecord } from '../store.js';
import type { SqliteChanges } from './sqlite-change.js';

/** The token changes of the SQLite store, each one transaction under the write lock. */
export class SqliteTokens {
  readonly #c: SqliteChanges;

  constructor(changes: SqliteChanges) {
    this.#c = changes;
  }

  createToken(token: NewToken, ctx: ChangeContext): Promise<TokenRecord> {
    const { q } = this.#c;
    return this.#c.change(() => {
      const now = ctx.clock.now();
      const id = q.insertToken(token, now, false);
      this.#c.commitEffects(
        { audit: changeAudit('token.create', 'token', id, token.name), events: [], touches: ['tokens'] },
        ctx,
        now,
      );
      return q.tokenById(id) as TokenRecord;
    });
  }

  revokeToken(id: number, ctx: ChangeContext): Promise<TokenRecord> {
    const { q } = this.#c;
    return this.#c.change(() => {
      const now = ctx.clock.now();
      // Inside BEGIN IMMEDIATE: no other revoke can change the live tokens before this commits.
      const token = planRevokeToken(
        id,
        q.liveTokens().map((t) => t.token),
      );
      q.revokeToken(id, now);
      this.#c.commitEffects(
        { audit: changeAudit('token.revoke', 'token', id, token.name), events: [], touches: ['tokens'] },
        ctx,
        now,
      );
      return q.tokenById(id) as TokenRecord;
    });
  }

  setBootstrapToken(hash: string, now: Date): Promise<TokenRecord> {
    const { q } = this.#c;
    return this.#c.change(() => {
      const same = q.tokenByHash(hash);
      checkBootstrapSecret(same && { bootstrap: same.bootstrap, revoked: same.revokedAt !== null });
      const current = q.liveBootstrapTokenId();
      if (current !== undefined) q.setTokenHash(current, hash);
      else q.insertToken(bootstrapToken(hash), now, true);
      this.#c.bump('tokens');
      return q.tokenByHash(hash) as TokenRecord;
    });
  }

  createBootstrapTokenIfNone(hash: string, now: Date): Promise<boolean> {
    const { q } = this.#c;
    return this.#c.change(() => {
      if (q.liveTokens().length > 0) return false;
      q.insertToken(bootstrapToken(hash), now, true);
      this.#c.bump('tokens');
      return true;
    });
  }
}
