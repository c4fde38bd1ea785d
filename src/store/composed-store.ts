import { LicensorError } from '../domain/errors.js';
import type { EventRecord } from '../domain/events.js';
import type { LicenseRecord } from '../domain/license.js';
import type { UserRecord } from '../domain/users.js';
import type {
  AuditEntry,
  AuditQuery,
  AuthFailureCount,
  ChangeContext,
  EventQuery,
  InactiveUsersDisabled,
  NewLicense,
  NewToken,
  NewUser,
  Store,
  TokenRecord,
  UserPatch,
  UserQuery,
} from './store.js';

/** License adds and deletes, as a dialect's module executes them. */
export type LicenseChanges = Pick<Store, 'addLicense' | 'deleteLicense'>;
/** The changes of users. */
export type UserChanges = Pick<
  Store,
  | 'createUser'
  | 'recordActivity'
  | 'updateUser'
  | 'deleteUser'
  | 'approveUser'
  | 'rejectUser'
  | 'disableInactiveUsers'
>;
/** The changes of tokens, the bootstrap token's included. */
export type TokenChanges = Pick<
  Store,
  'createToken' | 'revokeToken' | 'setBootstrapToken' | 'createBootstrapTokenIfNone'
>;
/** The reads that do not come from the snapshot: pages and lists. */
export type PageReads = Pick<
  Store,
  'getUser' | 'listUsers' | 'listTokens' | 'listAudit' | 'listAuthFailures' | 'listEvents'
>;

/** One module per concern, the same in both dialect folders (docs/architecture.md#the-store-layer). */
export interface StoreModules {
  licenses: LicenseChanges;
  users: UserChanges;
  tokens: TokenChanges;
  reads: PageReads;
}

/**
 * What a closed store answers every call, on both stores: once close() is asked nothing new is
 * taken, and what was asked before it is answered first (docs/errors.md).
 */
export function storeClosed(cause?: unknown): LicensorError {
  return new LicensorError('STORE_UNAVAILABLE', 'the database is closed', { cause });
}

/**
 * What the SQLite and PostgreSQL stores share: each of these Store methods goes to the module of
 * its concern, written once here instead of once per dialect. A store builds its modules (they
 * need its transaction and snapshot) and hands them over with compose() in its constructor.
 */
export abstract class ComposedStore {
  #m!: StoreModules;

  /** Called once, by the store's constructor, before the store is used. */
  protected compose(modules: StoreModules): void {
    this.#m = modules;
  }

  /** True once close() has been asked: every call through a module is refused from then on. */
  protected abstract get closed(): boolean;

  /** The module call, or its refusal when the store is closed (a rejected promise, never a throw). */
  #open<T>(call: (m: StoreModules) => Promise<T>): Promise<T> {
    return this.closed ? Promise.reject(storeClosed()) : call(this.#m);
  }

  addLicense(license: NewLicense, ctx: ChangeContext): Promise<LicenseRecord> {
    return this.#open((m) => m.licenses.addLicense(license, ctx));
  }

  deleteLicense(id: number, ctx: ChangeContext): Promise<LicenseRecord> {
    return this.#open((m) => m.licenses.deleteLicense(id, ctx));
  }

  createUser(user: NewUser, ctx: ChangeContext): Promise<UserRecord> {
    return this.#open((m) => m.users.createUser(user, ctx));
  }

  recordActivity(id: number, ctx: ChangeContext): Promise<{ user: UserRecord; seatTaken: boolean }> {
    return this.#open((m) => m.users.recordActivity(id, ctx));
  }

  updateUser(id: number, patch: UserPatch, ctx: ChangeContext): Promise<UserRecord> {
    return this.#open((m) => m.users.updateUser(id, patch, ctx));
  }

  deleteUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    return this.#open((m) => m.users.deleteUser(id, ctx));
  }

  approveUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    return this.#open((m) => m.users.approveUser(id, ctx));
  }

  rejectUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    return this.#open((m) => m.users.rejectUser(id, ctx));
  }

  disableInactiveUsers(
    inactiveDays: number,
    ctx: ChangeContext,
    options: { dryRun: boolean },
  ): Promise<InactiveUsersDisabled> {
    return this.#open((m) => m.users.disableInactiveUsers(inactiveDays, ctx, options));
  }

  createToken(token: NewToken, ctx: ChangeContext): Promise<TokenRecord> {
    return this.#open((m) => m.tokens.createToken(token, ctx));
  }

  revokeToken(id: number, ctx: ChangeContext): Promise<TokenRecord> {
    return this.#open((m) => m.tokens.revokeToken(id, ctx));
  }

  setBootstrapToken(hash: string, now: Date): Promise<TokenRecord> {
    return this.#open((m) => m.tokens.setBootstrapToken(hash, now));
  }

  createBootstrapTokenIfNone(hash: string, now: Date): Promise<boolean> {
    return this.#open((m) => m.tokens.createBootstrapTokenIfNone(hash, now));
  }

  getUser(id: number): Promise<UserRecord | undefined> {
    return this.#open((m) => m.reads.getUser(id));
  }

  listUsers(query: UserQuery): Promise<{ users: UserRecord[]; total: number }> {
    return this.#open((m) => m.reads.listUsers(query));
  }

  listTokens(): Promise<TokenRecord[]> {
    return this.#open((m) => m.reads.listTokens());
  }

  listAudit(query: AuditQuery): Promise<{ entries: AuditEntry[]; total: number }> {
    return this.#open((m) => m.reads.listAudit(query));
  }

  listAuthFailures(page: {
    offset: number;
    size: number;
  }): Promise<{ entries: AuthFailureCount[]; total: number }> {
    return this.#open((m) => m.reads.listAuthFailures(page));
  }

  listEvents(query: EventQuery): Promise<{ events: EventRecord[]; total: number }> {
    return this.#open((m) => m.reads.listEvents(query));
  }
}
