import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LicensorError } from '../../domain/errors.js';
import { DISABLE_INACTIVE_ACTION } from '../../domain/user-bulk.js';
import { activeSince } from '../../domain/users.js';
import type { AppContext } from '../app-context.js';
import { changeContext } from '../audit.js';
import { BODY_ERRORS, PERMISSION_ERRORS, problemResponses } from '../problem-responses.js';
import {
  CreateUserBody,
  DisableInactiveBody,
  DisableInactiveResult,
  UpdateUserBody,
  User,
  UserIdParams,
  UserList,
  UserListQuery,
} from '../../api/user-schemas.js';
import { userView } from '../user-view.js';
import { parseId } from './license-routes.js';

const security = [{ bearer: [] }];
const access = 'USER_ADMIN' as const;

/** The host product registers its users and reports their activity; seats are enforced here (docs/seats.md). */
export const userRoutes: FastifyPluginAsyncTypebox<AppContext> = async (
  app,
  { store, clock, activityWindowDays },
) => {
  /** Whether a user shows as active is judged when the answer is written. */
  const since = (): Date => activeSince(clock.now(), activityWindowDays);

  app.post(
    '/admin/users',
    {
      config: { access, audit: { action: 'user.create' } },
      schema: {
        operationId: 'createUser',
        tags: ['users'],
        summary: 'Register a user (takes a seat, or waits for approval)',
        description:
          'The new user is active from now on, so a seat must be free under the seat limit (licenseSeats, or the user cap when lower): 403 SEAT_LIMIT_REACHED otherwise, and nothing is written; or, when the seat settings say whenFull "queue", 202 with the user in state pending, stored, holding no seat, waiting for POST /admin/users/{id}/approve (docs/seats.md). A taken (iamid, userid) is 409 USER_ALREADY_EXISTS, checked first; "Alice", "alice", fullwidth "Ａｌｉｃｅ" and any Unicode form of one name are one user (docs/users.md). A control, invisible format, private-use or unassigned character in userid, iamid, name or email is 400 INVALID_IDENTIFIER. userid and iamid are stored as given, in NFC.',
        security,
        body: CreateUserBody,
        response: {
          201: User,
          202: { ...User, description: 'Queued: the user is pending approval (whenFull "queue")' },
          ...problemResponses(
            ...PERMISSION_ERRORS,
            ...BODY_ERRORS,
            'INVALID_IDENTIFIER',
            'SEAT_LIMIT_REACHED',
            'USER_ALREADY_EXISTS',
          ),
        },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const user = await store.createUser(
        {
          userid: body.userid,
          iamid: body.iamid,
          name: body.name ?? null,
          email: body.email ?? null,
          userType: body.userType ?? 'dataConsumer',
        },
        changeContext(request, clock),
      );
      return reply.code(user.pending ? 202 : 201).send(userView(user, since()));
    },
  );

  app.get(
    '/admin/users',
    {
      config: { access },
      schema: {
        operationId: 'listUsers',
        tags: ['users'],
        summary: 'List users',
        description:
          'A page of users in id order, optionally only active or inactive ones, only disabled or not disabled ones, only the approval queue (state=pending, in arrival order), or matching `q`: a substring of userid, name or email, ignoring case, accents and width, on every store alike (docs/users.md).',
        security,
        querystring: UserListQuery,
        response: { 200: UserList, ...problemResponses(...PERMISSION_ERRORS, 'VALIDATION_FAILED') },
      },
    },
    async (request) => {
      const { offset, size, active, disabled, q, state } = request.query;
      const activeSinceNow = since();
      const { users, total } = await store.listUsers({
        offset,
        size,
        activeSince: activeSinceNow,
        ...(active !== undefined && { active }),
        ...(state === 'pending' && { pending: true }),
        ...(disabled !== undefined && { disabled }),
        ...(q !== undefined && { search: q }),
      });
      return { offset, size, total, users: users.map((u) => userView(u, activeSinceNow)) };
    },
  );

  app.post(
    '/admin/users/disable-inactive',
    {
      config: { access: 'APPLICATION_ADMIN', audit: { action: DISABLE_INACTIVE_ACTION } },
      schema: {
        operationId: 'disableInactiveUsers',
        tags: ['users'],
        summary: 'Disable the users inactive for N days (preview with dryRun)',
        description:
          'Disables every user that is not disabled and whose last activity is more than `inactiveDays` days ago, in one transaction, with one `user.disable-inactive` audit entry per user. Users active within the activity window hold a seat: `seatsFreed` counts them; users inactive for longer hold none, but disabling them keeps their next login from taking a seat. With `dryRun: true` nothing is disabled (and nothing audited): the answer says which users would be. Needs APPLICATION_ADMIN. See docs/users.md#disabling-inactive-users.',
        security,
        body: DisableInactiveBody,
        response: {
          200: DisableInactiveResult,
          ...problemResponses(...PERMISSION_ERRORS, ...BODY_ERRORS),
        },
      },
    },
    async (request) => {
      const { inactiveDays } = request.body;
      const dryRun = request.body.dryRun === true;
      // A dry run is a read: it is not audited, refused or not.
      if (dryRun) request.auditSkip = true;
      const result = await store.disableInactiveUsers(inactiveDays, changeContext(request, clock), {
        dryRun,
      });
      if (!dryRun && result.count > 0)
        request.log.info({ count: result.count, seatsFreed: result.seatsFreed }, 'inactive users disabled');
      const activeSinceNow = since();
      return {
        dryRun,
        inactiveDays,
        inactiveBefore: result.inactiveBefore.toISOString(),
        count: result.count,
        seatsFreed: result.seatsFreed,
        users: result.users.map((u) => userView(u, activeSinceNow)),
      };
    },
  );

  app.get(
    '/admin/users/:id',
    {
      config: { access },
      schema: {
        operationId: 'getUser',
        tags: ['users'],
        summary: 'One user',
        security,
        params: UserIdParams,
        response: { 200: User, ...problemResponses(...PERMISSION_ERRORS, 'INVALID_ID', 'USER_NOT_FOUND') },
      },
    },
    async (request) => {
      const id = parseId(request.params.id);
      const user = await store.getUser(id);
      if (!user) throw new LicensorError('USER_NOT_FOUND', `no user with id ${id}`);
      return userView(user, since());
    },
  );

  app.patch(
    '/admin/users/:id',
    {
      config: { access, audit: { action: 'user.update', target: 'user' } },
      schema: {
        operationId: 'updateUser',
        tags: ['users'],
        summary: 'Change a user; disable or enable it',
        description:
          'Only the fields given change. Disabling frees the seat. Re-enabling a user whose last activity is within the activity window takes a seat (403 SEAT_LIMIT_REACHED when none is free). A name or email with a refused character is 400 INVALID_IDENTIFIER, as for POST /admin/users.',
        security,
        params: UserIdParams,
        body: UpdateUserBody,
        response: {
          200: User,
          ...problemResponses(
            ...PERMISSION_ERRORS,
            ...BODY_ERRORS,
            'INVALID_ID',
            'INVALID_IDENTIFIER',
            'SEAT_LIMIT_REACHED',
            'USER_NOT_FOUND',
            'USER_PENDING',
          ),
        },
      },
    },
    async (request) => {
      const id = parseId(request.params.id);
      const { name, email, userType, disabled } = request.body;
      const user = await store.updateUser(
        id,
        {
          ...(name !== undefined && { name }),
          ...(email !== undefined && { email }),
          ...(userType !== undefined && { userType }),
          ...(disabled !== undefined && { disabled }),
        },
        changeContext(request, clock),
      );
      return userView(user, since());
    },
  );

  app.delete(
    '/admin/users/:id',
    {
      config: { access, audit: { action: 'user.delete', target: 'user' } },
      schema: {
        operationId: 'deleteUser',
        tags: ['users'],
        summary: 'Remove a user, freeing its seat',
        description: 'Returns the user as it was before removal.',
        security,
        params: UserIdParams,
        response: {
          200: User,
          ...problemResponses(...PERMISSION_ERRORS, ...BODY_ERRORS, 'INVALID_ID', 'USER_NOT_FOUND'),
        },
      },
    },
    async (request) => {
      const user = await store.deleteUser(parseId(request.params.id), changeContext(request, clock));
      return userView(user, since());
    },
  );

  app.post(
    '/admin/users/:id/activity',
    {
      config: { access, audit: { action: 'user.activity', target: 'user' } },
      schema: {
        operationId: 'recordUserActivity',
        tags: ['users'],
        summary: 'Record a login or other activity now',
        description:
          'Always succeeds for an active user, even over the seat limit. A user who had aged out of the activity window takes a seat again (403 SEAT_LIMIT_REACHED when none is free); a disabled user is 409 USER_DISABLED; a user pending approval is 403 USER_PENDING. No body.',
        security,
        params: UserIdParams,
        response: {
          200: User,
          ...problemResponses(
            ...PERMISSION_ERRORS,
            ...BODY_ERRORS,
            'INVALID_ID',
            'SEAT_LIMIT_REACHED',
            'USER_NOT_FOUND',
            'USER_DISABLED',
            'USER_PENDING',
          ),
        },
      },
    },
    async (request) => {
      // Routine activity of an active user is usage, not a change: only a seat taken is audited,
      // and the store decides which it was.
      const { user } = await store.recordActivity(parseId(request.params.id), changeContext(request, clock));
      return userView(user, since());
    },
  );

  for (const [verb, summary, description] of [
    [
      'approve',
      'Approve a pending user (takes a seat)',
      'The user leaves the queue and takes a seat under the seat limit, as a create does: 403 SEAT_LIMIT_REACHED while none is free (it stays pending). Concurrent approvals never exceed the limit. 409 USER_NOT_PENDING for a user that is not waiting.',
    ],
    [
      'reject',
      'Reject a pending user (removes it)',
      'The user is removed; it held no seat. Returns the user as it was. 409 USER_NOT_PENDING for a user that is not waiting.',
    ],
  ] as const)
    app.post(
      `/admin/users/:id/${verb}`,
      {
        config: { access, audit: { action: `user.${verb}`, target: 'user' } },
        schema: {
          operationId: `${verb}User`,
          tags: ['users'],
          summary,
          description,
          security,
          params: UserIdParams,
          response: {
            200: User,
            ...problemResponses(
              ...PERMISSION_ERRORS,
              ...BODY_ERRORS,
              'INVALID_ID',
              'USER_NOT_FOUND',
              'USER_NOT_PENDING',
              ...(verb === 'approve' ? (['SEAT_LIMIT_REACHED'] as const) : []),
            ),
          },
        },
      },
      async (request) => {
        const id = parseId(request.params.id);
        const ctx = changeContext(request, clock);
        const user = verb === 'approve' ? await store.approveUser(id, ctx) : await store.rejectUser(id, ctx);
        return userView(user, since());
      },
    );
};
