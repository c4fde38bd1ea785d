import { LicensorError } from '../../domain/errors.js';
import {
  licenseChangeEffects,
  licensesAfterAdd,
  licensesAfterDelete,
  planAddLicense,
  storedLicense,
} from '../../domain/license-changes.js';
import type { LicenseRecord } from '../../domain/license.js';
import type { ChangeContext, NewLicense } from '../store.js';
import type { SqliteChanges } from './sqlite-change.js';
import type { SqliteSeats } from './sqlite-seats.js';

/** License adds and deletes on SQLite, each one transaction under the write lock (docs/licenses.md). */
export class SqliteLicenses {
  readonly #c: SqliteChanges;
  readonly #seats: SqliteSeats;

  constructor(changes: SqliteChanges, seats: SqliteSeats) {
    this.#c = changes;
    this.#seats = seats;
  }

  addLicense(license: NewLicense, ctx: ChangeContext): Promise<LicenseRecord> {
    return this.#c.change(() => {
      const now = ctx.clock.now();
      const { supersede } = planAddLicense(license, this.#c.q.licensesByUuid(license.claims.uuid));
      const liveBefore = this.#c.liveLicenses();
      const activeUserCount = this.#seats.activeCount(now);
      const id = this.#c.q.insertLicense(license, now);
      for (const uuid of supersede) this.#c.q.invalidateLicenses(uuid, now);
      const added = storedLicense(license, id, now);
      const liveAfter = licensesAfterAdd(liveBefore, added, supersede, now);
      const effects = licenseChangeEffects(
        'added',
        added,
        { liveBefore, liveAfter, activeUserCount, firedThresholds: this.#c.q.firedThresholds() },
        now,
        (licenses) => this.#c.effectiveAt(licenses, now),
      );
      this.#c.commitEffects({ ...effects, touches: ['licenses'] }, ctx, now);
      this.#c.liveAfter(liveAfter);
      return added;
    });
  }

  deleteLicense(id: number, ctx: ChangeContext): Promise<LicenseRecord> {
    return this.#c.change(() => {
      const now = ctx.clock.now();
      const existing = this.#c.q.licenseById(id);
      if (!existing || existing.deleted)
        throw new LicensorError('LICENSE_NOT_FOUND', `no license with id ${id}`);
      const liveBefore = this.#c.liveLicenses();
      const activeUserCount = this.#seats.activeCount(now);
      this.#c.q.markLicenseDeleted(id, now);
      const deleted = this.#c.q.licenseById(id) as LicenseRecord;
      const liveAfter = licensesAfterDelete(liveBefore, id);
      const effects = licenseChangeEffects(
        'deleted',
        deleted,
        {
          liveBefore,
          liveAfter,
          activeUserCount,
          firedThresholds: this.#c.q.firedThresholds(),
        },
        now,
        (licenses) => this.#c.effectiveAt(licenses, now),
      );
      this.#c.commitEffects({ ...effects, touches: ['licenses'] }, ctx, now);
      this.#c.liveAfter(liveAfter);
      return deleted;
    });
  }
}
