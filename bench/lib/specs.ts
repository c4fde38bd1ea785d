/** The requests the scenarios send, as autocannon load specs. */
import { randomBytes } from 'node:crypto';
import type { LoadSpec } from './load.js';

export const STATUS_PATH = '/admin/license/licenseStatus';
export const ENTITLEMENTS_PATH = '/license/entitlements';

export function getSpec(path: string, token?: string): () => LoadSpec {
  return () => ({
    method: 'GET',
    path,
    ...(token !== undefined && { headers: { authorization: `Bearer ${token}` } }),
    expect: 200,
  });
}

export function activitySpec(ids: number[], token?: string): () => LoadSpec {
  let k = Math.floor(Math.random() * ids.length);
  return () => ({
    method: 'POST',
    path: '/admin/users/1/activity',
    ...(token !== undefined && { headers: { authorization: `Bearer ${token}` } }),
    next: () => ({ path: `/admin/users/${ids[k++ % ids.length]!}/activity` }),
    expect: 200,
  });
}

export function claimSpec(token?: string): () => LoadSpec {
  const tag = randomBytes(4).toString('hex');
  let n = 0;
  return () => ({
    method: 'POST',
    path: '/admin/users',
    json: true,
    ...(token !== undefined && { headers: { authorization: `Bearer ${token}` } }),
    next: () => {
      n++;
      return {
        body: JSON.stringify({
          userid: `claim-${tag}-${n}`,
          iamid: 'bench-claims',
          name: `Claimed User ${n}`,
          email: `claim-${tag}-${n}@example.com`,
        }),
      };
    },
    expect: 201,
  });
}
