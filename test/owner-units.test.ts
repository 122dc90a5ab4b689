import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { base64urlDecode, base64urlEncode } from '../agent/owner/base64url.js';
import { NonceCache } from '../agent/owner/nonce-cache.js';
import { decodePairingPayload, encodePairingPayload, generateSetupCode, openPairingRequest, PairingWindow, sealPairingRequest, setupCodeMatches } from '../agent/owner/pairing.js';
import { FailureLimiter } from '../agent/owner/rate-limit.js';
import { RejectionAuditGate } from '../agent/owner/rejection-audit.js';
import { openSealed, sealForOwner } from '../agent/owner/seal.js';
import { generateIdentity } from '../agent/crypto/keys.js';
import { decodeOwnerKeyFile, encodeOwnerKeyFile, generateOwnerKeys } from '../companion/keys.js';
import { fileStorage } from './owner-support.js';

describe('base64url', () => {
  it('round-trips any bytes and matches Node', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      const text = base64urlEncode(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64url'));
      expect(base64urlDecode(text)).toEqual(bytes);
    }));
  });
  it('rejects characters outside the alphabet', () => {
    expect(() => base64urlDecode('ab+/')).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
  });
});

describe('pairing payload and request', () => {
  const identity = generateIdentity();
  const payload = { deviceId: 'therm-1', deviceType: 'thermostat', boxPublicKey: identity.boxPublicKey, signPublicKey: identity.signPublicKey, setupCode: generateSetupCode() };

  it('prints as a ta1: string and parses back', () => {
    const text = encodePairingPayload(payload);
    expect(text).toMatch(/^ta1:[A-Za-z0-9_-]+$/);
    expect(decodePairingPayload(text)).toEqual(payload);
    expect(payload.setupCode).toMatch(/^[A-Z2-7]{8}$/);
  });

  it('rejects garbage payloads with MALFORMED', () => {
    fc.assert(fc.property(fc.string(), (text) => {
      try { decodePairingPayload(`ta1:${text}`); } catch (error) { expect((error as { code: string }).code).toMatch(/MALFORMED|OVERSIZED|UNSUPPORTED_VERSION|INVALID_ARGUMENT/); }
    }));
  });

  it('seals the request to the device and binds it to the owner key', () => {
    const owner = generateOwnerKeys();
    const { bytes, requestId } = sealPairingRequest(payload, owner, payload.setupCode, 123);
    const opened = openPairingRequest(bytes, identity.boxSecretKey);
    expect(opened).toMatchObject({ deviceId: 'therm-1', setupCode: payload.setupCode, requestId, issuedAt: 123 });
    expect(opened.ownerSignPublicKey).toEqual(owner.signPublicKey);
    expect(() => openPairingRequest(bytes, generateIdentity().boxSecretKey)).toThrow(expect.objectContaining({ code: 'AUTH_FAILED' }));
  });

  it('matches setup codes exactly', () => {
    expect(setupCodeMatches('ABCDEFGH', 'ABCDEFGH')).toBe(true);
    expect(setupCodeMatches('ABCDEFGH', 'ABCDEFGX')).toBe(false);
    expect(setupCodeMatches('ABCDEFGH', 'ABCDEFGHI')).toBe(false);
    expect(setupCodeMatches('ABCDEFGH', '')).toBe(false);
  });

  it('spends the code once and closes after too many wrong codes or by time', () => {
    const window = new PairingWindow(3);
    const code = window.open(1_000, 0);
    window.redeem(code, 10);
    expect(() => window.redeem(code, 20)).toThrow(expect.objectContaining({ code: 'PAIRING_CLOSED' }));
    const second = window.open(1_000, 100);
    for (let i = 0; i < 3; i++) expect(() => window.redeem('WRONGCOD', 110)).toThrow(expect.objectContaining({ code: 'AUTH_FAILED' }));
    expect(() => window.redeem(second, 120)).toThrow(expect.objectContaining({ code: 'PAIRING_CLOSED' }));
    const third = window.open(1_000, 200);
    expect(() => window.redeem(third, 1_200)).toThrow(expect.objectContaining({ code: 'PAIRING_CLOSED' }));
  });
});

describe('nonce cache', () => {
  it('refuses seen nonces, survives reload, and never forgets into acceptance', async () => {
    const { storage } = await fileStorage();
    const cache = new NonceCache(storage, 3);
    await cache.load();
    const nonces = [1, 2, 3, 4].map(() => nacl.randomBytes(16));
    expect(await cache.checkAndRemember(nonces[0]!, 100, 1_000, 50)).toBe(true);
    expect(await cache.checkAndRemember(nonces[0]!, 100, 1_000, 50)).toBe(false);
    const reloaded = new NonceCache(storage, 3);
    await reloaded.load();
    expect(await reloaded.checkAndRemember(nonces[0]!, 100, 1_000, 60)).toBe(false);
    for (const [i, nonce] of nonces.slice(1).entries()) expect(await reloaded.checkAndRemember(nonce, 200 + i, 1_000, 60)).toBe(true);
    expect(reloaded.size).toBe(3);
    // nonce 0 was evicted to make room; the floor now refuses it (and anything as old) as a possible replay.
    expect(await reloaded.checkAndRemember(nonces[0]!, 100, 1_000, 70)).toBe(false);
    expect(await reloaded.checkAndRemember(nacl.randomBytes(16), 100, 1_000, 70)).toBe(false);
  });
});

describe('failure limiter', () => {
  it('blocks after the free failures with doubling delays, clears on success', () => {
    const limiter = new FailureLimiter({ freeFailures: 2, baseDelayMs: 100, maxDelayMs: 1_000, maxSources: 2 });
    expect(limiter.recordFailure('a', 0).blocked).toBe(false);
    expect(limiter.recordFailure('a', 0).blocked).toBe(false);
    expect(limiter.recordFailure('a', 0)).toMatchObject({ blocked: true, blockedUntil: 100 });
    expect(limiter.recordFailure('a', 0)).toMatchObject({ blockedUntil: 200 });
    expect(limiter.isBlocked('a', 150)).toBe(true);
    expect(limiter.isBlocked('a', 250)).toBe(false);
    for (let i = 0; i < 10; i++) limiter.recordFailure('a', 0);
    expect(limiter.isBlocked('a', 999)).toBe(true);
    expect(limiter.isBlocked('a', 1_001)).toBe(false);
    limiter.recordSuccess('a');
    expect(limiter.failures('a')).toBe(0);
    limiter.recordFailure('b', 0); limiter.recordFailure('c', 0); limiter.recordFailure('d', 0);
    expect(limiter.failures('b')).toBe(0); // forgotten: the table stays bounded
  });
});

describe('owner keys and sealing', () => {
  it('round-trips the key file and opens sealed data only with the right key', () => {
    const keys = generateOwnerKeys();
    const device = generateIdentity();
    const file = decodeOwnerKeyFile(encodeOwnerKeyFile({ keys, devices: { d1: { deviceType: 'lock', signPublicKey: device.signPublicKey, boxPublicKey: device.boxPublicKey } } }));
    expect(file.keys.signSecretKey).toEqual(keys.signSecretKey);
    expect(file.devices['d1']?.signPublicKey).toEqual(device.signPublicKey);
    const sealed = sealForOwner(new Uint8Array([1, 2, 3]), keys.boxPublicKey);
    expect(openSealed(sealed, keys.boxSecretKey)).toEqual(new Uint8Array([1, 2, 3]));
    expect(() => openSealed(sealed, generateOwnerKeys().boxSecretKey)).toThrow(expect.objectContaining({ code: 'AUTH_FAILED' }));
    expect(() => decodeOwnerKeyFile('{"v":2}')).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
  });
});

describe('RejectionAuditGate', () => {
  it('for any sequence of rejections, the written counts plus those still held add up to every rejection', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ backoff: fc.boolean(), stepMs: fc.integer({ min: -5_000, max: 2_000_000 }), write: fc.boolean() }), { maxLength: 200 }),
      (events) => {
        const gate = new RejectionAuditGate(3_600_000);
        let now = 0;
        let written = 0;
        let lastWrite = Number.NEGATIVE_INFINITY;
        for (const event of events) {
          now += event.stepMs;
          const decision = gate.note('others', event.backoff, now);
          if (!event.backoff) expect(decision.write).toBe(true); // outside a backoff every rejection is written
          if (now < lastWrite) expect(decision.write).toBe(true); // a clock stepping back never silences the trail
          if (!decision.write) continue;
          lastWrite = now;
          if (event.write) written += decision.count;
          else { gate.unwrite('others', decision.count); lastWrite = Number.NEGATIVE_INFINITY; }
        }
        const flushed = gate.note('others', false, now);
        expect(written + flushed.count).toBe(events.length + 1);
      },
    ));
  });
});
