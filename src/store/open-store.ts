import { ConfigError, type StoreConfig } from '../config.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** Opens the configured store and brings its schema up to date. */
export function openStore(config: StoreConfig): Promise<Store> {
  switch (config.kind) {
    case 'sqlite':
      return Promise.resolve(SqliteStore.open({ filename: config.filename }));
    case 'postgres':
      throw new ConfigError('DATABASE_URL: this build has no PostgreSQL store yet; unset it to use SQLite');
  }
}
