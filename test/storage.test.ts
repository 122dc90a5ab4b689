import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { memoryStorage } from '../agent/adapters/memory/storage.js';
import { nodeFileStorage } from '../agent/adapters/node/storage.js';
import { isTrustError } from '../agent/errors.js';
import type { StoragePort } from '../agent/ports/storage.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

function make(kind: 'memory' | 'node'): StoragePort {
  if (kind === 'memory') return memoryStorage();
  const dir = mkdtempSync(join(tmpdir(), 'storage-test-'));
  dirs.push(dir);
  return nodeFileStorage(dir);
}

describe.each(['memory', 'node'] as const)('%s storage port', (kind) => {
  test('read, writeAtomic, append, truncate, remove', async () => {
    const s = make(kind);
    expect(await s.read('a/b')).toBeUndefined();
    await s.writeAtomic('a/b', bytes(1, 2, 3));
    expect(await s.read('a/b')).toEqual(bytes(1, 2, 3));
    await s.writeAtomic('a/b', bytes(9));
    expect(await s.read('a/b')).toEqual(bytes(9));
    await s.append('log', bytes(1, 2));
    await s.append('log', bytes(3));
    await s.sync('log');
    expect(await s.read('log')).toEqual(bytes(1, 2, 3));
    await s.truncate('log', 1);
    expect(await s.read('log')).toEqual(bytes(1));
    await s.append('log', bytes(7)); // appending after a truncate continues at the new end
    expect(await s.read('log')).toEqual(bytes(1, 7));
    await s.writeAtomic('log', bytes(5)); // replacing a file that has an open append handle
    await s.append('log', bytes(6));
    expect(await s.read('log')).toEqual(bytes(5, 6));
    await s.remove('log');
    await s.remove('log'); // removing twice is fine
    expect(await s.read('log')).toBeUndefined();
    await s.sync('never-written'); // syncing a missing file is a no-op
    await s.truncate('never-written', 0);
  });

  test('list is prefix-filtered and sorted by code units', async () => {
    const s = make(kind);
    for (const name of ['x/b', 'x/a', 'x/B', 'x/sub/c', 'y/a', 'x.1']) await s.writeAtomic(name, bytes(1));
    expect(await s.list('x/')).toEqual(['x/B', 'x/a', 'x/b', 'x/sub/c']);
    expect(await s.list('x')).toEqual(['x.1', 'x/B', 'x/a', 'x/b', 'x/sub/c']);
    expect(await s.list('nothing/')).toEqual([]);
  });

  test('names that could escape the root or are not portable are rejected', async () => {
    const s = make(kind);
    for (const name of ['../etc/passwd', '/abs', 'a/../b', 'a//b', '', 'a b', 'a/./b', 'x~tmp', 'ä']) {
      await expect(s.writeAtomic(name, bytes(1))).rejects.toSatisfy((e) => isTrustError(e, 'INVALID_ARGUMENT'));
      await expect(s.read(name)).rejects.toSatisfy((e) => isTrustError(e, 'INVALID_ARGUMENT'));
    }
  });

  test('many files appended in turn (more than the open-handle cache) keep every byte', async () => {
    const s = make(kind);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 50; i++) await s.append(`many/f${i}`, bytes(round, i));
      for (let i = 0; i < 50; i += 7) await s.sync(`many/f${i}`);
    }
    for (let i = 0; i < 50; i++) expect(await s.read(`many/f${i}`)).toEqual(bytes(0, i, 1, i, 2, i));
  });
});

test('memory crash drops unsynced appends, optionally leaving a torn prefix; atomic writes survive', async () => {
  const s = memoryStorage();
  await s.append('seg', bytes(1, 2, 3));
  await s.sync('seg');
  await s.append('seg', bytes(4, 5, 6, 7, 8, 9, 10, 11));
  await s.writeAtomic('keys', bytes(42));
  s.crash();
  expect(await s.read('seg')).toEqual(bytes(1, 2, 3));
  expect(await s.read('keys')).toEqual(bytes(42));
  await s.append('seg', bytes(4, 5, 6, 7, 8, 9, 10, 11));
  s.crash({ tornTail: true, random: () => 0.5 });
  expect(await s.read('seg')).toEqual(bytes(1, 2, 3, 4, 5, 6, 7));
  expect(s.files().get('keys')).toEqual(bytes(42));
});

test('node writeAtomic leaves no temporary files behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'storage-test-'));
  dirs.push(dir);
  const s = nodeFileStorage(dir);
  for (let i = 0; i < 5; i++) await s.writeAtomic('d/k', bytes(i));
  expect(readdirSync(join(dir, 'd'))).toEqual(['k']);
  await s.close();
});
