/**
 * The response store of a server, opened on first use: a server never asked for a stored
 * response neither loads SQLite for it nor creates a database file.
 */
import type { ResponseStore } from '../../store/response-store.js';

export interface ResponseStoreLocation {
  /** The data directory of the conversation database (default: the store's default). */
  dataDir?: string;
  /** Keep responses in memory, for as long as the process runs. */
  memory?: boolean;
  /** A database named by `G4F_DATABASE_URL` (PostgreSQL, or a SQLite file). */
  database?: import('../../store/database-url.js').DatabaseLocation;
}

export function lazyResponseStore(location: ResponseStoreLocation): ResponseStore {
  let opening: Promise<ResponseStore> | undefined;
  let closed = false;
  const opened = (): Promise<ResponseStore> => {
    if (closed) return Promise.reject(new Error('The response store is closed'));
    opening ??= import('../../store/index.js')
      .then((store) => store.openResponseStore(location))
      .catch((error: unknown) => {
        opening = undefined; // the next request tries again (e.g. once the directory is writable)
        throw error;
      });
    return opening;
  };
  return {
    put: async (record) => (await opened()).put(record),
    get: async (id, owner) => (await opened()).get(id, owner),
    delete: async (id, owner) => (await opened()).delete(id, owner),
    async close() {
      closed = true;
      const store = await opening?.catch(() => undefined);
      await store?.close();
    },
  };
}
