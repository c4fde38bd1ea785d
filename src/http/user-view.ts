import type { Static } from 'typebox';
import { isUserActive, type UserRecord } from '../domain/users.js';
import type { User } from '../api/user-schemas.js';

export function userView(user: UserRecord, activeSince: Date): Static<typeof User> {
  return {
    id: user.id,
    userid: user.userid,
    iamid: user.iamid,
    name: user.name,
    email: user.email,
    userType: user.userType,
    active: isUserActive(user, activeSince),
    // A pending user is stored disabled so that no count sees it; it was never disabled.
    disabled: user.disabled && !user.pending,
    state: user.pending
      ? 'pending'
      : user.disabled
        ? 'disabled'
        : isUserActive(user, activeSince)
          ? 'active'
          : 'inactive',
    createdAt: user.createdAt.toISOString(),
    lastActivityAt: user.lastActivityAt.toISOString(),
  };
}
