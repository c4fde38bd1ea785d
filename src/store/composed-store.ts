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

  addLicense(license: NewLicense, ctx: ChangeContext): Promise<LicenseRecord> {
    return this.#m.licenses.addLicense(license, ctx);
  }

  deleteLicense(id: number, ctx: ChangeContext): Promise<LicenseRecord> {
    return this.#m.licenses.deleteLicense(id, ctx);
  }

  createUser(user: NewUser, ctx: ChangeContext): Promise<UserRecord> {
    return this.#m.users.createUser(user, ctx);
  }

  recordActivity(id: number, ctx: ChangeContext): Promise<{ user: UserRecord; seatTaken: boolean }> {
    return this.#m.users.recordActivity(id, ctx);
  }

  updateUser(id: number, patch: UserPatch, ctx: ChangeContext): Promise<UserRecord> {
    return this.#m.users.updateUser(id, patch, ctx);
  }

  deleteUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    return this.#m.users.deleteUser(id, ctx);
  }

  approveUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    return this.#m.users.approveUser(id, ctx);
  }

  rejectUser(id: number, ctx: ChangeContext): Promise<UserRecord> {
    return this.#m.users.rejectUser(id, ctx);
  }

  disableInactiveUsers(
    inactiveDays: number,
    ctx: ChangeContext,
    options: { dryRun: boolean },
  ): Promise<InactiveUsersDisabled> {
    return this.#m.users.disableInactiveUsers(inactiveDays, ctx, options);
  }

  createToken(token: NewToken, ctx: ChangeContext): Promise<TokenRecord> {
    return this.#m.tokens.createToken(token, ctx);
  }

  revokeToken(id: number, ctx: ChangeContext): Promise<TokenRecord> {
    return this.#m.tokens.revokeToken(id, ctx);
  }

  setBootstrapToken(hash: string, now: Date): Promise<TokenRecord> {
    return this.#m.tokens.setBootstrapToken(hash, now);
  }

  createBootstrapTokenIfNone(hash: string, now: Date): Promise<boolean> {
    return this.#m.tokens.createBootstrapTokenIfNone(hash, now);
  }

  getUser(id: number): Promise<UserRecord | undefined> {
    return this.#m.reads.getUser(id);
  }

  listUsers(query: UserQuery): Promise<{ users: UserRecord[]; total: number }> {
    return this.#m.reads.listUsers(query);
  }

  listTokens(): Promise<TokenRecord[]> {
    return this.#m.reads.listTokens();
  }

  listAudit(query: AuditQuery): Promise<{ entries: AuditEntry[]; total: number }> {
    return this.#m.reads.listAudit(query);
  }

  listAuthFailures(page: {
    offset: number;
    size: number;
  }): Promise<{ entries: AuthFailureCount[]; total: number }> {
    return this.#m.reads.listAuthFailures(page);
  }

  listEvents(query: EventQuery): Promise<{ events: EventRecord[]; total: number }> {
    return this.#m.reads.listEvents(query);
  }
}
