import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStorage } from '../agent/adapters/memory/index.js';
import { nodeCrypto } from '../agent/adapters/node/crypto.js';
import { fromHex, toHex } from '../agent/crypto/keys.js';
import { installCrypto, primitives, resetCrypto, tweetnaclCrypto } from '../agent/crypto/primitives.js';
import { verifyDocument } from '../agent/crypto/sign.js';
import type { CryptoPort } from '../agent/ports/crypto.js';
import { topics } from '../agent/topics.js';
import { makeAgent, memoryWorld } from './helpers/agent-kit.js';

/** Issue 12 item 4: every crypto port reproduces the same known answers, and a wrong one is refused at start. */

const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8')) as T;
const ed = load<{ vectors: Array<{ name: string; seed: string; publicKey: string; message: string; signature: string }> }>('ed25519.json').vectors;
const x = load<{ scalarMult: Array<{ name: string; scalar: string; u: string; out: string }>; diffieHellman: Record<string, string> }>('x25519.json');
const smallOrder = load<{ points: Array<{ name: string; hex: string }> }>('x25519-small-order.json').points;

const RECIPIENT = nacl.box.keyPair().publicKey;
const PORTS: CryptoPort[] = [tweetnaclCrypto, nodeCrypto()];

afterEach(() => resetCrypto());

describe.each(PORTS.map((port) => [port.name, port] as const))('crypto port %s', (_name, port) => {
  it('reproduces the RFC 8032 Ed25519 vectors and refuses a tampered message or signature', () => {
    for (const v of ed) {
      const seed = fromHex(v.seed);
      const publicKey = port.signPublicKey(seed);
      expect(toHex(publicKey), v.name).toBe(v.publicKey);
      const secretKey = new Uint8Array([...seed, ...publicKey]);
      const message = fromHex(v.message);
      expect(toHex(port.sign(message, secretKey)), v.name).toBe(v.signature);
      expect(port.verify(message, fromHex(v.signature), publicKey), v.name).toBe(true);
      expect(port.verify(new Uint8Array([...message, 0]), fromHex(v.signature), publicKey), v.name).toBe(false);
      const bad = fromHex(v.signature);
      bad[63] = (bad[63] ?? 0) ^ 0x40;
      expect(port.verify(message, bad, publicKey), v.name).toBe(false);
      expect(port.verify(message, bad.subarray(1), publicKey), v.name).toBe(false);
    }
  });

  it('reproduces the RFC 7748 X25519 vectors and gives zeros (never a throw) for every small-order point', () => {
    for (const v of x.scalarMult) expect(toHex(port.scalarMult(fromHex(v.scalar), fromHex(v.u))), v.name).toBe(v.out);
    const dh = x.diffieHellman as Record<'aliceSecret' | 'alicePublic' | 'bobSecret' | 'bobPublic' | 'shared', string>;
    expect(toHex(port.scalarMultBase(fromHex(dh.aliceSecret)))).toBe(dh.alicePublic);
    expect(toHex(port.scalarMultBase(fromHex(dh.bobSecret)))).toBe(dh.bobPublic);
    expect(toHex(port.scalarMult(fromHex(dh.aliceSecret), fromHex(dh.bobPublic)))).toBe(dh.shared);
    expect(toHex(port.scalarMult(fromHex(dh.bobSecret), fromHex(dh.alicePublic)))).toBe(dh.shared);
    for (const point of smallOrder) expect(toHex(port.scalarMult(nacl.randomBytes(32), fromHex(point.hex))), point.name).toBe('00'.repeat(32));
  });

  it('agrees with tweetnacl on random keys and messages', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed, message, point) => {
      const pair = nacl.sign.keyPair.fromSeed(seed);
      expect(toHex(port.signPublicKey(seed))).toBe(toHex(pair.publicKey));
      expect(toHex(port.sign(message, pair.secretKey))).toBe(toHex(nacl.sign.detached(message, pair.secretKey)));
      expect(toHex(port.scalarMult(seed, point))).toBe(toHex(nacl.scalarMult(seed, point)));
      expect(toHex(port.scalarMultBase(seed))).toBe(toHex(nacl.scalarMult.base(seed)));
    }), { numRuns: 40 });
  });

  it('returns plain Uint8Arrays it does not share', () => {
    const seed = nacl.randomBytes(32);
    const out = port.signPublicKey(seed);
    expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
    expect(Object.getPrototypeOf(port.sign(new Uint8Array(3), nacl.sign.keyPair.fromSeed(seed).secretKey))).toBe(Uint8Array.prototype);
    out.fill(0);
    expect(toHex(port.signPublicKey(seed))).toBe(toHex(nacl.sign.keyPair.fromSeed(seed).publicKey));
  });
});

describe('installing a crypto port', () => {
  it('refuses a port that gets a known answer wrong, and keeps the one installed', () => {
    const native = nodeCrypto();
    installCrypto(native);
    const wrongSign: CryptoPort = { ...tweetnaclCrypto, name: 'broken', sign: (m, k) => { const s = nacl.sign.detached(m, k); s[0] = (s[0] ?? 0) ^ 1; return s; } };
    const acceptsAll: CryptoPort = { ...tweetnaclCrypto, name: 'lax', verify: () => true };
    const throwsLowOrder: CryptoPort = { ...tweetnaclCrypto, name: 'throws', scalarMult: (n, p) => { if (p.every((b) => b === 0)) throw new Error('low order'); return nacl.scalarMult(n, p); } };
    for (const port of [wrongSign, acceptsAll, throwsLowOrder]) {
      expect(() => installCrypto(port), port.name).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining(port.name) }));
      expect(primitives()).toBe(native);
    }
  });

  it('an agent given a wrong port fails at start before writing anything', async () => {
    const storage = memoryStorage();
    const broken: CryptoPort = { ...tweetnaclCrypto, name: 'broken', scalarMultBase: () => new Uint8Array(32).fill(9) };
    await expect(makeAgent(memoryWorld(), { deviceId: 'c-1', recipientPublicKey: RECIPIENT, storage, crypto: broken })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    expect(await storage.list('')).toEqual([]);
  });

  it('an agent on node:crypto publishes a manifest that verifies under its tweetnacl-derived key', async () => {
    const world = memoryWorld();
    const { agent } = await makeAgent(world, { deviceId: 'c-2', recipientPublicKey: RECIPIENT, crypto: nodeCrypto() });
    await agent.start();
    expect(primitives().name).toBe('node:crypto');
    const manifest = world.memoryBroker!.retained(topics.manifest(agent.deviceId));
    expect(manifest).toBeDefined();
    resetCrypto();
    expect(verifyDocument(manifest!, agent.publicKeys.sign).body).toMatchObject({ deviceType: 'thermostat' });
    await agent.stop();
  });
});

describe('nothing unchanged is signed again at boot', () => {
  function countingPort(): CryptoPort & { signs: number } {
    const port = { ...tweetnaclCrypto, name: 'counting', signs: 0, sign: (m: Uint8Array, k: Uint8Array) => { port.signs++; return tweetnaclCrypto.sign(m, k); } };
    return port;
  }

  it('a reboot with the same manifest and state publishes the documents signed before, and a change is signed afresh', async () => {
    const world = memoryWorld();
    const storage = memoryStorage();
    const port = countingPort();
    const boot = async () => (await makeAgent(world, { deviceId: 'c-3', recipientPublicKey: RECIPIENT, storage, crypto: port })).agent;
    const first = await boot();
    port.signs = 0;
    await first.start();
    expect(port.signs).toBe(2); // manifest and state, once
    const manifest = world.memoryBroker!.retained(topics.manifest('c-3'));
    const state = world.memoryBroker!.retained(topics.state('c-3'));
    await first.stop();

    world.time!.advance(60_000);
    const second = await boot();
    port.signs = 0;
    await second.start();
    expect(port.signs).toBe(0);
    expect(toHex(world.memoryBroker!.retained(topics.manifest('c-3'))!)).toBe(toHex(manifest!));
    expect(toHex(world.memoryBroker!.retained(topics.state('c-3'))!)).toBe(toHex(state!));
    expect(verifyDocument(state!, second.publicKeys.sign).body).toMatchObject({ paired: false });

    await second.rights.applyPatch({ manifestReviewed: true });
    expect(port.signs).toBeGreaterThan(0);
    await second.stop();
  });

  it('a corrupted or planted cache entry is never published: the document is signed again', async () => {
    const world = memoryWorld();
    const storage = memoryStorage();
    const port = countingPort();
    const boot = async () => (await makeAgent(world, { deviceId: 'c-4', recipientPublicKey: RECIPIENT, storage, crypto: port })).agent;
    const first = await boot();
    await first.start();
    await first.stop();
    const file = (await storage.read('keys/signed.cbor'))!;
    const flipped = file.slice();
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1; // inside the last signature
    await storage.writeAtomic('keys/signed.cbor', flipped);
    const second = await boot();
    port.signs = 0;
    await second.start();
    expect(port.signs).toBe(1);
    for (const topic of [topics.manifest('c-4'), topics.state('c-4')]) expect(() => verifyDocument(world.memoryBroker!.retained(topic)!, second.publicKeys.sign)).not.toThrow();
    await second.stop();
    await storage.writeAtomic('keys/signed.cbor', new Uint8Array([1, 2, 3]));
    const third = await boot();
    port.signs = 0;
    await third.start();
    expect(port.signs).toBe(2);
    await third.stop();
  });
});
