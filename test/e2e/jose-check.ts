import assert from 'node:assert/strict';
import { calculateJwkThumbprint, compactVerify, exportJWK, importSPKI } from 'jose';

/** Verifies a license key with jose, a JOSE library that is not ours, and checks its kid. */
export async function jwtVerifyLike(licenseKey: string, publicPem: string): Promise<Record<string, unknown>> {
  const key = await importSPKI(publicPem, 'EdDSA');
  const { payload, protectedHeader } = await compactVerify(licenseKey, key, { algorithms: ['EdDSA'] });
  assert.equal(protectedHeader.alg, 'EdDSA');
  assert.equal(protectedHeader.typ, 'license+jws');
  assert.equal(protectedHeader.kid, await calculateJwkThumbprint(await exportJWK(key)));
  return JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
}
