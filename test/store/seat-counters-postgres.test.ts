import { after, describe } from 'node:test';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { dropSchema, postgresSkipReason, TEST_DATABASE_URL, uniqueSchemaName } from '../helpers/postgres.js';
import { seatCounterCase } from './seat-counters.case.js';

const skip = await postgresSkipReason();

describe('PostgresStore seat counters', { skip: skip ?? false }, () => {
  const schema = uniqueSchemaName();
  after(() => dropSchema(schema));
  seatCounterCase('postgres', () =>
    PostgresStore.open({ url: TEST_DATABASE_URL, schema, poolMax: 2, activityWindowDays: 30 }),
  );
});
