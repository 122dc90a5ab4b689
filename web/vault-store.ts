import { TrustError } from '../agent/errors.js';
import { decodeVault, encodeVault, type Vault } from './vault.js';

/** IndexedDB: one database, one store, one record (the vault's text, checked whole on every read and write). */
const DB = 'trust-agent-companion';
const STORE = 'vault';
const KEY = 'vault';

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new TrustError('STORAGE', 'the browser refused its local storage (IndexedDB)', { cause: request.error }));
  });
}

async function run<T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(new TrustError('STORAGE', 'the browser could not read or write its local storage', { cause: tx.error }));
      tx.onabort = tx.onerror;
    });
  } finally {
    db.close();
  }
}

/** The stored text, or undefined when this browser holds no keys yet. */
export async function loadVaultText(): Promise<string | undefined> {
  const value = await run<unknown>('readonly', (store) => store.get(KEY));
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new TrustError('CORRUPT', 'the key store in this browser is damaged (not a backup text)');
  return value;
}

/** Writes after a full decode of what is written, so the store never holds something it cannot read back. */
export async function saveVault(vault: Vault): Promise<void> {
  const text = encodeVault(vault);
  decodeVault(text);
  await run('readwrite', (store) => store.put(text, KEY));
}
