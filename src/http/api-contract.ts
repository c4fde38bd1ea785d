/**
 * The wire contract (src/api) owns the values it publishes: problem codes, event types, refusal
 * codes, limits. The domain keeps its own, and src/api may not import the domain (the client ships
 * it), so the two are made equal here, in the one layer that sees both: a value added to or
 * removed from either side is a type error in this file, naming the values that differ. The error
 * table (src/domain/errors.ts) stays the only place a code gets its status, and with the first
 * check below a code the API publishes cannot exist without one.
 *
 * Types only: nothing here runs. test/http/api-contract.test.ts breaks each check once.
 */
import type { Static } from 'typebox';
import type { ProblemCode, PROBLEM_EXAMPLE } from '../api/common-schemas.js';
import type { EventTypeName } from '../api/event-schemas.js';
import type { License, RefusalCode } from '../api/license-schemas.js';
import type { SeatSettings } from '../api/settings-schemas.js';
import type {
  MAX_INACTIVE_DAYS as API_MAX_INACTIVE_DAYS,
  DISABLE_INACTIVE_LISTED as API_DISABLE_INACTIVE_LISTED,
  User,
} from '../api/user-schemas.js';
import type { MAX_WEBHOOK_URL_LENGTH as API_MAX_WEBHOOK_URL_LENGTH } from '../api/webhook-schemas.js';
import type { ERROR_STATUS, ErrorCode } from '../domain/errors.js';
import type { EventType } from '../domain/events.js';
import type { KeyRefusalCode } from '../domain/license-impact.js';
import type { LicenseState } from '../domain/license.js';
import type { WhenFull } from '../domain/seat-policy.js';
import type { DISABLE_INACTIVE_LISTED, MAX_INACTIVE_DAYS } from '../domain/user-bulk.js';
import type { UserType } from '../domain/users.js';
import type { MAX_WEBHOOK_URL_LENGTH } from '../domain/webhooks.js';

/** `true` when A and B hold the same values; otherwise what each holds that the other lacks. */
type Same<A, B> = [Exclude<A, B>, Exclude<B, A>] extends [never, never]
  ? true
  : { onlyInDomain: Exclude<A, B>; onlyInApi: Exclude<B, A> };
type Check<T extends true> = T;

export type ContractChecks = [
  Check<Same<ErrorCode, ProblemCode>>,
  Check<Same<EventType, EventTypeName>>,
  Check<Same<KeyRefusalCode, RefusalCode>>,
  // Unions the schemas spell out: the views (license-view.ts, user-view.ts) already refuse a domain
  // value the schema lacks; these refuse a schema value the domain never produces, too.
  Check<Same<LicenseState, Static<typeof License>['state']>>,
  Check<Same<WhenFull, Static<typeof SeatSettings>['whenFull']>>,
  Check<Same<UserType, Static<typeof User>['userType']>>,
  Check<Same<typeof MAX_INACTIVE_DAYS, typeof API_MAX_INACTIVE_DAYS>>,
  Check<Same<typeof DISABLE_INACTIVE_LISTED, typeof API_DISABLE_INACTIVE_LISTED>>,
  Check<Same<typeof MAX_WEBHOOK_URL_LENGTH, typeof API_MAX_WEBHOOK_URL_LENGTH>>,
  // The Problem schema's example answers with its code's status from the error table.
  Check<Same<(typeof ERROR_STATUS)[(typeof PROBLEM_EXAMPLE)['code']], (typeof PROBLEM_EXAMPLE)['status']>>,
];
