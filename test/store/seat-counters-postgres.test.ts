import { after, describe } from 'node:test';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { dropSchema, postgresSkipReason, TEST_DATABASE_URL, uniqueSchemaName } from '../helpers/postgres.js';
import { seatCounterCase } from './seat-counters.case.js';

const skip = await postgresSkipReason();

describe('PostgresStore seat counters', { skip: skip ?? false }, () => {
  // A schema per generated sequence: each starts from an empty store.
  const schemas: string[] = [];
  after(() => Promise.all(schemas.map((schema) => dropSchema(schema))));
  seatCounterCase(
    'postgres',
    () => {
      const schema = uniqueSchemaName();
      schemas.push(schema);
      return PostgresStore.open({ url: TEST_DATABASE_URL, schema, poolMax: 2, activityWindowDays: 30 });
      // Fewer than SQLite: a new schema and its migrations per sequence, and a round trip per query.
    },
    8,
  );
});
