import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_STATUS } from '../src/domain/errors.js';

test('docs/errors.md lists every error code with its status', () => {
  const page = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  for (const [code, status] of Object.entries(ERROR_STATUS)) {
    assert.match(
      page,
      new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`),
      `${code} (${status}) is not documented`,
    );
  }
});
