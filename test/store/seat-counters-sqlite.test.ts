import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { seatCounterCase } from './seat-counters.case.js';

seatCounterCase(
  'sqlite',
  () => Promise.resolve(SqliteStore.open({ filename: ':memory:', activityWindowDays: 30 })),
  40,
);
