/** What a token may do (docs/auth.md). APPLICATION_ADMIN implies USER_ADMIN. */
export const PERMISSIONS = ['APPLICATION_ADMIN', 'USER_ADMIN'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export function isPermission(value: unknown): value is Permission {
  return (PERMISSIONS as readonly unknown[]).includes(value);
}

/** Whether a token holding `held` may do what needs `needed`. */
export function grants(held: readonly Permission[], needed: Permission): boolean {
  return held.includes(needed) || (needed === 'USER_ADMIN' && held.includes('APPLICATION_ADMIN'));
}
