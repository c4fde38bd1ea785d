import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { LicensorError } from '../../domain/errors.js';
import { isActive } from '../../domain/license.js';
import { parseRfc3339 } from '../../domain/license-claims.js';
import { activeSince, isUserActive, utcDay } from '../../domain/users.js';
import { buildUsageReport, MAX_REPORT_DAYS } from '../../domain/usage-report.js';
import { USAGE_REPORT_TYP } from '../../keys/instance-signer.js';
import type { AppContext } from '../app-context.js';
import { Jose } from '../../api/instance-schemas.js';
import { PERMISSION_ERRORS, problemResponses } from '../problem-responses.js';
import { Usage, UsageHistory, UsageHistoryQuery, UsageQuery } from '../../api/usage-schemas.js';

const security = [{ bearer: [] }];
const DAY_MS = 86_400_000;
/** The longest history one request returns: ten years of days. */
export const MAX_HISTORY_DAYS = 3660;
/** Before any day Licensor can have recorded. */
const HISTORY_START = '0000-01-01';

function dayOf(text: string, name: string): Date {
  const date = parseRfc3339(`${text}T00:00:00Z`);
  if (!date) throw new LicensorError('VALIDATION_FAILED', `${name} must be a date (YYYY-MM-DD) that exists`);
  return date;
}

/** CSV when the Accept header names text/csv before (or without) application/json. */
function prefersCsv(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const csv = accept.indexOf('text/csv');
  const json = accept.indexOf('application/json');
  return csv !== -1 && (json === -1 || csv < json);
}

/** License usage (Immuta's later `GET /admin/license/usage`) and its daily history. */
/**
 * The days a history or report covers: `to` defaults to today and `from` to 89 days before it;
 * `from` after `to`, or more than `maxDays`, is a 400 that says why.
 */
function periodOf(
  query: { from?: string; to?: string },
  now: Date,
  maxDays: number,
  tooLong: string,
): { from: Date; to: Date } {
  const to = query.to === undefined ? dayOf(utcDay(now), 'to') : dayOf(query.to, 'to');
  const from = query.from === undefined ? new Date(to.getTime() - 89 * DAY_MS) : dayOf(query.from, 'from');
  if (from > to) throw new LicensorError('VALIDATION_FAILED', '"from" must not be after "to"');
  if ((to.getTime() - from.getTime()) / DAY_MS >= maxDays)
    throw new LicensorError('VALIDATION_FAILED', tooLong);
  return { from, to };
}

export const usageRoutes: FastifyPluginAsyncTypebox<AppContext> = async (
  app,
  { store, clock, activityWindowDays, instance },
) => {
  app.get(
    '/admin/license/usage',
    {
      config: { access: 'APPLICATION_ADMIN' },
      schema: {
        operationId: 'getUsage',
        tags: ['usage'],
        summary: 'A page of users and a summary over all users',
        description:
          "Immuta's later `GET /admin/license/usage`: users in id order with whether each is active, counts by user type over all users, and the peak of active users in the current license term.",
        security,
        querystring: UsageQuery,
        response: { 200: Usage, ...problemResponses(...PERMISSION_ERRORS, 'VALIDATION_FAILED') },
      },
    },
    async (request) => {
      const { offset, size } = request.query;
      const now = clock.now();
      const since = activeSince(now, activityWindowDays);
      const [page, summary, licenses] = await Promise.all([
        store.listUsers({ offset, size, activeSince: since }),
        store.usageSummary(since),
        store.listLicenses(),
      ]);
      const activeUserCount = summary.dataConsumers.activeCount + summary.policyOwners.activeCount;
      const starts = licenses
        .filter((l) => isActive(l, now))
        .map((l) => (l.claims.startsAt ?? l.claims.createdAt).getTime());
      const termStart = starts.length > 0 ? utcDay(new Date(Math.min(...starts))) : null;
      const history = termStart === null ? [] : await store.usageHistory(termStart, utcDay(now));
      return {
        users: page.users.map((u) => ({
          userType: u.userType,
          name: u.name,
          email: u.email,
          iamid: u.iamid,
          userid: u.userid,
          active: isUserActive(u, since),
          id: u.id,
        })),
        summary,
        offset,
        size,
        total: summary.dataConsumers.totalCount + summary.policyOwners.totalCount,
        activeUserCount,
        peak: {
          activeUsers: Math.max(activeUserCount, ...history.map((d) => d.peakActiveUsers)),
          termStart,
        },
      };
    },
  );

  app.get(
    '/admin/license/usage/history',
    {
      config: { access: 'APPLICATION_ADMIN' },
      schema: {
        operationId: 'getUsageHistory',
        tags: ['usage'],
        summary: 'Daily peak of active users against seats',
        description:
          'JSON by default; CSV (day,peakActiveUsers,licenseSeats,hardSeats,peakDataConsumers,peakPolicyOwners; the last two empty on a day recorded before Licensor kept peaks by user type) when asked with Accept: text/csv before (or without) application/json. `to` defaults to today and `from` to 89 days before `to`; at most 3660 days at once, and `from` must not be after `to` (400 VALIDATION_FAILED). Today is first raised to the current count of active users.',
        security,
        querystring: UsageHistoryQuery,
        response: {
          200: {
            description: 'The days with a record',
            content: {
              'application/json': { schema: UsageHistory },
              'text/csv': {
                schema: Type.String({
                  description: 'A header line, then one line per day',
                  examples: [
                    'day,peakActiveUsers,licenseSeats,hardSeats,peakDataConsumers,peakPolicyOwners\n2026-05-31,11,25,20,,\n2026-06-01,12,25,20,10,2\n',
                  ],
                }),
              },
            },
          },
          ...problemResponses(...PERMISSION_ERRORS, 'VALIDATION_FAILED'),
        },
      },
    },
    async (request, reply) => {
      const now = clock.now();
      const { from, to } = periodOf(
        request.query,
        now,
        MAX_HISTORY_DAYS,
        `at most ${MAX_HISTORY_DAYS} days at once`,
      );
      // Today's row is raised to the current count first, so the last point is never stale.
      await store.recordUsage(now);
      const days = await store.usageHistory(utcDay(from), utcDay(to));
      if (prefersCsv(request.headers.accept)) {
        // The peaks by type come last, so a reader of the first four columns reads them as before.
        const lines = [
          'day,peakActiveUsers,licenseSeats,hardSeats,peakDataConsumers,peakPolicyOwners',
          ...days.map(
            (d) =>
              `${d.day},${d.peakActiveUsers},${d.licenseSeats},${d.hardSeats},` +
              `${d.peakByType?.dataConsumer ?? ''},${d.peakByType?.policyOwner ?? ''}`,
          ),
        ];
        return reply.type('text/csv; charset=utf-8').send(`${lines.join('\n')}\n`);
      }
      return { from: utcDay(from), to: utcDay(to), days };
    },
  );

  app.get(
    '/admin/license/usage/report',
    {
      config: { access: 'APPLICATION_ADMIN' },
      schema: {
        operationId: 'getUsageReport',
        tags: ['usage'],
        summary: 'The usage report signed by the instance: the true-up a vendor bills from',
        description: `A compact JWS (\`alg EdDSA\`, \`typ usage-report+jws\`, \`kid\` of the instance key) whose payload holds the licenses in force in the period, one row per recorded day (peak of active users over all types and by user type, seats, and \`chain\`: SHA-256 over the previous day's chain and the row's RFC 8785 canonical JSON) and a summary. Built from the daily usage history only. \`to\` defaults to today and \`from\` to 89 days before \`to\`; at most ${MAX_REPORT_DAYS} days, and \`from\` must not be after \`to\` (400 VALIDATION_FAILED). Days before the first user or license are left out (docs/usage-report.md).`,
        security,
        querystring: UsageHistoryQuery,
        response: {
          200: { description: 'The signed report', content: { 'application/jose': { schema: Jose } } },
          ...problemResponses(...PERMISSION_ERRORS, 'VALIDATION_FAILED'),
        },
      },
    },
    async (request, reply) => {
      const now = clock.now();
      const { from, to } = periodOf(
        request.query,
        now,
        MAX_REPORT_DAYS,
        `a report covers at most ${MAX_REPORT_DAYS} days`,
      );
      await store.recordUsage(now);
      // The whole history up to \`to\`: the chain starts at its first day, so reports over
      // different periods agree on the days they share.
      const [history, licenses] = await Promise.all([
        store.usageHistory(HISTORY_START, utcDay(to)),
        store.listLicenses({ includeDeleted: true }),
      ]);
      const report = buildUsageReport({
        instanceId: instance.instanceId,
        generatedAt: now,
        from: utcDay(from),
        to: utcDay(to),
        history,
        licenses,
      });
      return reply
        .type('application/jose')
        .header('content-disposition', `attachment; filename="usage-report-${report.from}-${report.to}.jws"`)
        .send(instance.sign(USAGE_REPORT_TYP, { ...report }));
    },
  );
};
