import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { LicensorError } from '../../domain/errors.js';
import {
  additionImpact,
  changesAhead,
  KEY_REFUSAL_CODES,
  deletionImpact,
  isKeyRefusal,
  refusedKeyImpact,
  type LicenseImpact as Impact,
} from '../../domain/license-impact.js';
import { seatStatus } from '../../domain/license.js';
import { verifyLicenseKey, verifyLicenseKeyForAdd } from '../../keys/license-jws.js';
import type { AppContext } from '../app-context.js';
import { changeContext } from '../audit.js';
import { sendViewJson } from '../reply.js';
import { seatLimit } from '../../domain/seat-policy.js';
import { graceView, impactView, licenseListView, licenseView, upcomingView } from '../license-view.js';
import { BODY_ERRORS, PERMISSION_ERRORS, problemResponses } from '../problem-responses.js';
import {
  AddLicenseBody,
  DeleteLicenseQuery,
  EXAMPLE_DELETED,
  EXAMPLE_DELETION_IMPACT,
  License,
  LicenseIdParams,
  LicenseImpact,
  LicenseList,
  LicenseListQuery,
  LicenseStatus,
  Upcoming,
  UpcomingQuery,
} from '../../api/license-schemas.js';

const ADMIN = { access: 'APPLICATION_ADMIN' } as const;
const security = [{ bearer: [] }];

/** Ids are positive integers; anything else is refused before the store is asked. */
export function parseId(raw: string, what = 'id'): number {
  if (!/^[1-9][0-9]{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw)))
    throw new LicensorError('INVALID_ID', `${what} must be a positive integer, not "${raw.slice(0, 40)}"`);
  return Number(raw);
}

function licenseKeyOf(body: { licenseKey?: string | undefined; licensekey?: string | undefined }): string {
  const { licenseKey, licensekey } = body;
  if (licenseKey !== undefined && licensekey !== undefined && licenseKey.trim() !== licensekey.trim())
    throw new LicensorError(
      'VALIDATION_FAILED',
      'the body has both licenseKey and licensekey, and they differ',
    );
  const key = (licenseKey ?? licensekey)?.trim();
  if (key === undefined) throw new LicensorError('VALIDATION_FAILED', 'the body needs "licenseKey"');
  return key;
}

/** The four endpoints of Immuta's admin license API, with the seed's field names (docs/immuta-compatibility.md). */
export const licenseRoutes: FastifyPluginAsyncTypebox<AppContext> = async (app, context) => {
  const { store, keyRing, clock } = context;
  app.post(
    '/admin/license',
    {
      config: { ...ADMIN, audit: { action: 'license.add' } },
      schema: {
        operationId: 'addLicense',
        tags: ['licenses'],
        summary: 'Add a license key',
        description:
          'Verifies the key (EdDSA signature by a trusted issuer key, claims, expiry) and stores it. The body field may also be spelled "licensekey"; surrounding whitespace is ignored. A key whose `supersedes` names other licenses invalidates them. Each way a key can be refused has its own code (docs/license-keys.md); a refused key stores nothing.',
        security,
        body: AddLicenseBody,
        response: {
          200: License,
          ...problemResponses(...PERMISSION_ERRORS, ...BODY_ERRORS, ...KEY_REFUSAL_CODES),
        },
      },
    },
    async (request) => {
      const licenseKey = licenseKeyOf(request.body);
      const verified = verifyLicenseKeyForAdd(licenseKey, keyRing, clock.now());
      const stored = await store.addLicense(
        { licenseKey, payload: verified.payload, claims: verified.claims },
        changeContext(request, clock),
      );
      request.log.info({ licenseId: stored.id, uuid: stored.uuid }, 'license added');
      return licenseView(stored, clock.now());
    },
  );

  /** Every stored license (deleted ones too, for the re-add rules) and the active user count. */
  const currentState = async (now: Date) =>
    Promise.all([
      store.listLicenses({ includeDeleted: true }),
      store.readView(now).then((view) => view.activeUserCount),
    ]);

  app.post(
    '/admin/license/validate',
    {
      // A read: nothing is stored, so no audit line (401 and 403 are recorded as for every route).
      config: ADMIN,
      schema: {
        operationId: 'validateLicense',
        tags: ['licenses'],
        summary: 'Dry run of adding a license key',
        description:
          'Verifies the key exactly as POST /admin/license does (signature, claims, expiry, then the re-add rules) and answers what adding it would change: seats before and after, features and handlers gained, the licenses its `supersedes` would invalidate. Nothing is stored. A key that would be refused is still answered with 200 and `refusal` set to the code, status and detail POST /admin/license would answer with (then nothing would change); a body without a key is 400 VALIDATION_FAILED as for POST /admin/license. A later add can still be refused if something changes in between (another add of the same uuid).',
        security,
        body: AddLicenseBody,
        response: {
          200: LicenseImpact,
          ...problemResponses(...PERMISSION_ERRORS, ...BODY_ERRORS),
        },
      },
    },
    async (request) => {
      const now = clock.now();
      const licenseKey = licenseKeyOf(request.body);
      const [stored, activeUserCount] = await currentState(now);
      let impact: Impact;
      try {
        // POST /admin/license runs verifyLicenseKeyForAdd: this, then checkKeyTimes, which
        // additionImpact runs before the re-add rules, as the store does on insert.
        const verified = verifyLicenseKey(licenseKey, keyRing);
        impact = additionImpact(
          stored,
          { licenseKey, payload: verified.payload, claims: verified.claims },
          activeUserCount,
          now,
        );
      } catch (err) {
        if (!isKeyRefusal(err)) throw err;
        impact = refusedKeyImpact(stored, err, activeUserCount, now);
      }
      return impactView(impact, now);
    },
  );

  app.get(
    '/admin/license',
    {
      config: ADMIN,
      schema: {
        operationId: 'listLicenses',
        tags: ['licenses'],
        summary: 'List license keys',
        description:
          "Every license that is not deleted (expired and invalidated ones included), in id order: Immuta's response, unchanged. With `all=true`, the deleted licenses too, so a license's whole history can be read; each license's `state` says what it is now. Never includes the license key itself.",
        security,
        querystring: LicenseListQuery,
        response: {
          200: LicenseList,
          ...problemResponses(...PERMISSION_ERRORS, 'VALIDATION_FAILED'),
        },
      },
    },
    async (request) => {
      const now = clock.now();
      const all = request.query.all === true;
      return (await store.listLicenses({ includeDeleted: all })).map((l) => licenseListView(l, now));
    },
  );

  app.get(
    '/admin/license/upcoming',
    {
      config: ADMIN,
      schema: {
        operationId: 'getUpcomingLicenseChanges',
        tags: ['licenses'],
        summary: 'What changes by itself ahead',
        description:
          'Every instant within `days` (default 30) at which a license that is neither deleted nor invalidated starts or expires, in time order: the licenses starting and expiring then, the seats before and after, the features and handlers gained and lost, and whether data access is blocked from then on (a hardExpiration license expiring with no other license active). Seats over the limit are counted with the active users of now (docs/licenses.md#changes-ahead).',
        security,
        querystring: UpcomingQuery,
        response: { 200: Upcoming, ...problemResponses(...PERMISSION_ERRORS, 'VALIDATION_FAILED') },
      },
    },
    async (request) => {
      const now = clock.now();
      const until = new Date(now.getTime() + (request.query.days ?? 30) * 86_400_000);
      const [stored, activeUserCount] = await currentState(now);
      return upcomingView(changesAhead(stored, activeUserCount, now, until), now, until);
    },
  );

  app.get(
    '/admin/license/licenseStatus',
    {
      config: ADMIN,
      schema: {
        operationId: 'getLicenseStatus',
        tags: ['licenses'],
        summary: 'Seat capacity and the effective license',
        description:
          'The seed fields activeUserCount, licenseSeats, canAddUser and hardSeats, computed over all active licenses, plus extras. Active licenses stack: seats add up and a feature is enabled when any active license enables it (docs/licenses.md).',
        security,
        response: { 200: LicenseStatus, ...problemResponses(...PERMISSION_ERRORS) },
      },
    },
    // Serialized once per snapshot view: the body changes only when the view does.
    (_request, reply) =>
      sendViewJson(reply, store, clock.now(), 'licenseStatus', ({ effective, activeUserCount, settings }) => {
        const limit = seatLimit(effective, settings);
        return JSON.stringify({
          ...seatStatus(effective, activeUserCount, limit),
          userCap: settings.userCap,
          seatLimit: limit,
          whenFull: settings.whenFull,
          dataAccessBlocked: effective.dataAccessBlocked,
          features: effective.features,
          handlers: effective.handlers,
          nextExpiry: effective.nextExpiry?.toISOString() ?? null,
          grace: graceView(effective),
          overage: Math.max(0, activeUserCount - effective.hardSeats),
          overLimit: Math.max(0, activeUserCount - limit),
          activeLicenses: effective.activeLicenses,
        });
      }),
  );

  app.get(
    '/admin/license/:licenseId',
    {
      config: ADMIN,
      schema: {
        operationId: 'getLicense',
        tags: ['licenses'],
        summary: 'One license, deleted or not',
        description: 'With its key and the whole signed payload, like the response of POST /admin/license.',
        security,
        params: LicenseIdParams,
        response: {
          200: License,
          ...problemResponses(...PERMISSION_ERRORS, 'INVALID_ID', 'LICENSE_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      const id = parseId(request.params.licenseId, 'licenseId');
      const license = await store.getLicense(id);
      if (!license) throw new LicensorError('LICENSE_NOT_FOUND', `no license with id ${id}`);
      return licenseView(license, clock.now());
    },
  );

  app.delete(
    '/admin/license/:licenseId',
    {
      config: { ...ADMIN, audit: { action: 'license.delete', target: 'license' } },
      schema: {
        operationId: 'deleteLicense',
        tags: ['licenses'],
        summary: 'Delete a license key',
        description:
          'Soft delete: the record stays with deleted: true and updatedAt set to the time of deletion, and is returned. A license already deleted is 404 LICENSE_NOT_FOUND. A license with hardDelete can never be added again; any other may be added again after deletion. With `dryRun=true` nothing is deleted (and nothing audited): the answer is a LicenseImpact saying what deleting would change: seats after, features and handlers lost, active users over the limit afterwards. Unknown query parameters are refused, so a misspelt dryRun never deletes.',
        security,
        params: LicenseIdParams,
        querystring: DeleteLicenseQuery,
        response: {
          200: {
            description: 'The deleted license; with dryRun=true, what deleting it would change',
            content: {
              'application/json': {
                schema: Type.Union([License, LicenseImpact]),
                examples: {
                  deleted: { summary: 'Deleted', value: EXAMPLE_DELETED },
                  dryRun: { summary: 'dryRun=true', value: EXAMPLE_DELETION_IMPACT },
                },
              },
            },
          },
          ...problemResponses(...PERMISSION_ERRORS, ...BODY_ERRORS, 'INVALID_ID', 'LICENSE_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      // A dry run is a read: it is not audited, refused or not.
      if (request.query.dryRun === true) request.auditSkip = true;
      const id = parseId(request.params.licenseId, 'licenseId');
      const now = clock.now();
      if (request.query.dryRun === true) {
        const [stored, activeUserCount] = await currentState(now);
        return impactView(deletionImpact(stored, id, activeUserCount, now), now);
      }
      const deleted = await store.deleteLicense(id, changeContext(request, clock));
      request.log.info({ licenseId: deleted.id, uuid: deleted.uuid }, 'license deleted');
      return licenseView(deleted, now);
    },
  );
};
