import Type from 'typebox';
import { Timestamp } from './common-schemas.js';
import { pageQuery } from './user-schemas.js';

const EXAMPLE_TOKEN = {
  id: 2,
  name: 'host product',
  permissions: ['USER_ADMIN'],
  createdAt: '2026-06-01T12:00:00.000Z',
  revokedAt: null,
  bootstrap: false,
};

export const PermissionSchema = Type.Union([Type.Literal('APPLICATION_ADMIN'), Type.Literal('USER_ADMIN')], {
  description: 'APPLICATION_ADMIN may call every route and implies USER_ADMIN; USER_ADMIN only /admin/users',
});

const tokenFields = {
  id: Type.Integer({ description: 'The token id' }),
  name: Type.String({ description: 'What the token is for' }),
  permissions: Type.Array(PermissionSchema),
  createdAt: Timestamp,
  revokedAt: Type.Union([Timestamp, Type.Null()], { description: 'null while the token is live' }),
  bootstrap: Type.Boolean({
    description: 'The administrator token from LICENSOR_ADMIN_TOKEN or first start',
  }),
};

export const Token = Type.Object(tokenFields, {
  $id: 'Token',
  additionalProperties: false,
  description: 'An API token; never its secret',
  examples: [EXAMPLE_TOKEN],
});

export const TokenList = Type.Array(Token, {
  description: 'The live tokens, in id order',
  examples: [
    [
      {
        id: 1,
        name: 'bootstrap administrator',
        permissions: ['APPLICATION_ADMIN'],
        createdAt: '2026-06-01T12:00:00.000Z',
        revokedAt: null,
        bootstrap: true,
      },
      EXAMPLE_TOKEN,
    ],
  ],
});

export const CreatedToken = Type.Object(
  {
    ...tokenFields,
    secret: Type.String({
      description: 'The bearer secret. Shown only in this response; only its hash is stored.',
    }),
  },
  {
    additionalProperties: false,
    description: 'The new token, with its secret',
    examples: [{ ...EXAMPLE_TOKEN, secret: 'lsr_3zzh3Vel7qgk2oRVMQvrFLaviXlaiaA_b7iP0j3Uq9k' }],
  },
);

export const CreateTokenBody = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[^\\u0000-\\u001f\\u007f]+$',
      description: 'What the token is for, e.g. the product that uses it',
    }),
    permissions: Type.Array(PermissionSchema, { minItems: 1, uniqueItems: true }),
  },
  {
    additionalProperties: false,
    description: 'The token to create',
    examples: [{ name: 'host product', permissions: ['USER_ADMIN'] }],
  },
);

export const TokenIdParams = Type.Object({
  id: Type.String({ description: 'The token id: a positive integer', examples: ['2'] }),
});

const AuditEntry = Type.Object(
  {
    id: Type.Integer(),
    at: Timestamp,
    actorTokenId: Type.Union([Type.Integer(), Type.Null()], {
      description: 'The token that made the request; null when none was valid',
    }),
    actorName: Type.Union([Type.String(), Type.Null()], { description: 'The name of that token' }),
    action: Type.String({ examples: ['license.add', 'user.create', 'GET /admin/license'] }),
    target: Type.Union([Type.String(), Type.Null()], { examples: ['license:3'] }),
    targetName: Type.Union([Type.String(), Type.Null()], {
      description:
        "The target's name when the change was made: a user's userid, a token's name, a licensee's name (or the license's uuid); null for refusals and entries older than this field",
      examples: ['ada'],
    }),
    outcome: Type.Union([Type.Literal('success'), Type.Literal('refused')]),
    code: Type.Union([Type.String(), Type.Null()], { description: 'The problem code of a refusal' }),
    clientAddress: Type.String({ description: 'The address the request came from' }),
  },
  { additionalProperties: false },
);

/** The failed-authentication counts take paging only. */
export const AuthFailureQuery = Type.Object(pageQuery, { additionalProperties: false });

export const AuditQuery = Type.Object(
  {
    ...pageQuery,
    action: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Only this action, e.g. user.update' }),
    ),
    actor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'Only entries made with a token of this name (as it was named then)',
      }),
    ),
    outcome: Type.Optional(
      Type.Union([Type.Literal('success'), Type.Literal('refused')], {
        description: 'Only changes that succeeded, or only refusals',
      }),
    ),
    from: Type.Optional({ ...Timestamp, description: 'Only entries at or after this instant' }),
    to: Type.Optional({ ...Timestamp, description: 'Only entries before this instant' }),
  },
  { additionalProperties: false },
);

export const AuditPage = Type.Object(
  {
    offset: Type.Integer({ description: 'The offset asked for' }),
    size: Type.Integer({ description: 'The page size asked for' }),
    total: Type.Integer({ description: 'All entries' }),
    entries: Type.Array(AuditEntry, { description: 'Newest first' }),
  },
  {
    additionalProperties: false,
    description: 'A page of the audit log',
    examples: [
      {
        offset: 0,
        size: 10,
        total: 2,
        entries: [
          {
            id: 2,
            at: '2026-06-01T12:00:05.000Z',
            actorTokenId: null,
            actorName: null,
            action: 'GET /admin/license',
            target: null,
            targetName: null,
            outcome: 'refused',
            code: 'UNAUTHORIZED',
            clientAddress: '10.0.0.7',
          },
          {
            id: 1,
            at: '2026-06-01T12:00:00.000Z',
            actorTokenId: 1,
            actorName: 'bootstrap administrator',
            action: 'license.add',
            target: 'license:1',
            targetName: 'Example Corp',
            outcome: 'success',
            code: null,
            clientAddress: '10.0.0.5',
          },
        ],
      },
    ],
  },
);
