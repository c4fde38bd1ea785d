import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newEventId } from '../../src/store/rows.js';

/** Event ids (docs/events.md): `evt_` and 128 random bits, never the same twice. */
describe('newEventId', () => {
  it('gives ids of the documented form that never repeat, across many refills of its random bytes', () => {
    // 256 ids use up one draw of random bytes: 5,000 span about twenty.
    const ids = Array.from({ length: 5000 }, () => newEventId());
    // 16 bytes: 21 characters of 6 bits, and a last one carrying 2 bits (A, Q, g or w).
    for (const id of ids) assert.match(id, /^evt_[A-Za-z0-9_-]{21}[AQgw]$/);
    // Bytes used twice (a buffer not refilled, an index not moved on) would repeat ids.
    assert.equal(new Set(ids).size, ids.length);
    // Random bits: every base64url character shows up (a zeroed or constant buffer would not).
    assert.equal(new Set(ids.flatMap((id) => [...id.slice(4, 25)])).size, 64);
  });
});
