/** The fields the API answers with, for tests of the HTTP routes and of the CLI's --json output. */
export const TOKEN_FIELDS = ['bootstrap', 'createdAt', 'id', 'name', 'permissions', 'revokedAt'];
export const AUDIT_FIELDS = [
  'action',
  'actorName',
  'actorTokenId',
  'at',
  'clientAddress',
  'code',
  'id',
  'outcome',
  'target',
  'targetName',
];
export const USER_FIELDS = [
  'active',
  'createdAt',
  'disabled',
  'email',
  'iamid',
  'id',
  'lastActivityAt',
  'name',
  'state',
  'userType',
  'userid',
];
