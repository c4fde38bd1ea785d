import type { StoreConfig } from '../config.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store, StoreSettings } from './store.js';

/** Opens the configured store and brings its schema up to date. */
export async function openStore(config: StoreConfig, settings: StoreSettings): Promise<Store> {
  switch (config.kind) {
    case 'sqlite':
      return SqliteStore.open({ filename: config.filename, ...settings });
    case 'postgres': {
      // Loaded only when asked for, so a SQLite installation never loads pg.
      const { PostgresStore } = await import('./postgres/postgres-store.js');
      return PostgresStore.open({ url: config.url, queryTimeoutMs: config.queryTimeoutMs, ...settings });
    }
  }
}
