/**
 * A tiny file-like store. Names are relative paths made of `[A-Za-z0-9._-]` segments joined by `/`.
 * Durability contract (the store relies on it for crash safety):
 * - `writeAtomic` resolves only when the new content is durable; a crash leaves the old or the new content.
 * - `append` may be lost on power loss until `sync` of the same name resolves; a torn tail is possible.
 * - `truncate` and `remove` are durable when they resolve.
 */
export interface StoragePort {
  read(name: string): Promise<Uint8Array | undefined>;
  writeAtomic(name: string, data: Uint8Array): Promise<void>;
  append(name: string, data: Uint8Array): Promise<void>;
  sync(name: string): Promise<void>;
  truncate(name: string, length: number): Promise<void>;
  remove(name: string): Promise<void>;
  /** Names that start with `prefix`, sorted in ascending code-unit order. */
  list(prefix: string): Promise<string[]>;
}
