import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { LicensorError } from '../../domain/errors.js';
import { effectiveLicense, seatStatus } from '../../domain/license.js';
import { activeSince } from '../../domain/users.js';
import { verifyLicenseKeyForAdd } from '../../keys/license-jws.js';
import type { AppContext } from '../app.js';
import { licenseListView, licenseView } from '../license-view.js';
import { problemResponses } from '../schemas/common-schemas.js';
import {
  AddLicenseBody,
  License,
  LicenseIdParams,
  LicenseListItem,
  LicenseStatus,
} from '../schemas/license-schemas.js';

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

/** The four endpoints of Immuta's admin license API (SPEC §5), with the seed's field names. */
export const licenseRoutes: FastifyPluginAsyncTypebox<AppContext> = async (
  app,
  { store, keyRing, clock, activityWindowDays },
) => {
  app.post(
    '/admin/license',
    {
      config: { ...ADMIN, audit: { action: 'license.add' } },
      schema: {
        tags: ['licenses'],
        summary: 'Add a license key',
        description:
          'Verifies the key (EdDSA signature by a trusted issuer key, claims, expiry) and stores it. The body field may also be spelled "licensekey".',
        security,
        body: AddLicenseBody,
        response: { 200: License, ...problemResponses(400, 401, 403, 409, 413, 415) },
      },
    },
    async (request) => {
      const now = clock.now();
      const licenseKey = licenseKeyOf(request.body);
      const verified = verifyLicenseKeyForAdd(licenseKey, keyRing, now);
      const stored = await store.addLicense(
        { licenseKey, payload: verified.payload, claims: verified.claims },
        now,
      );
      request.auditTarget = `license:${stored.id}`;
      request.log.info({ licenseId: stored.id, uuid: stored.uuid }, 'license added');
      return licenseView(stored, now);
    },
  );

  app.get(
    '/admin/license',
    {
      config: ADMIN,
      schema: {
        tags: ['licenses'],
        summary: 'List license keys',
        description: 'Every license that is not deleted, in id order. Never includes the license key itself.',
        security,
        response: { 200: Type.Array(LicenseListItem), ...problemResponses(401, 403) },
      },
    },
    async () => {
      const now = clock.now();
      return (await store.listLicenses()).map((l) => licenseListView(l, now));
    },
  );

  app.get(
    '/admin/license/licenseStatus',
    {
      config: ADMIN,
      schema: {
        tags: ['licenses'],
        summary: 'Seat capacity and the effective license',
        description:
          'The seed fields activeUserCount, licenseSeats, canAddUser and hardSeats, computed over all active licenses, plus extras.',
        security,
        response: { 200: LicenseStatus, ...problemResponses(401, 403) },
      },
    },
    async () => {
      const now = clock.now();
      const [licenses, activeUserCount] = await Promise.all([
        store.listLicenses(),
        store.countActiveUsers(activeSince(now, activityWindowDays)),
      ]);
      const effective = effectiveLicense(licenses, now);
      return {
        ...seatStatus(effective, activeUserCount),
        dataAccessBlocked: effective.dataAccessBlocked,
        features: effective.features,
        handlers: effective.handlers,
        nextExpiry: effective.nextExpiry?.toISOString() ?? null,
        overage: Math.max(0, activeUserCount - effective.hardSeats),
        activeLicenses: effective.activeLicenseIds.length,
      };
    },
  );

  app.get(
    '/admin/license/:licenseId',
    {
      config: ADMIN,
      schema: {
        tags: ['licenses'],
        summary: 'One license, deleted or not',
        security,
        params: LicenseIdParams,
        response: { 200: License, ...problemResponses(400, 401, 403, 404) },
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
        tags: ['licenses'],
        summary: 'Delete a license key',
        description:
          'Soft delete: the record stays with deleted: true and updatedAt set to the time of deletion. A license with hardDelete can never be added again.',
        security,
        params: LicenseIdParams,
        response: { 200: License, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const id = parseId(request.params.licenseId, 'licenseId');
      const now = clock.now();
      const deleted = await store.deleteLicense(id, now);
      request.log.info({ licenseId: deleted.id, uuid: deleted.uuid }, 'license deleted');
      return licenseView(deleted, now);
    },
  );
};
