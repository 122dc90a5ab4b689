import { describe, expect, it } from 'vitest';
import { systemClock } from '../agent/adapters/node/clock.js';
import { nodeLogger } from '../agent/adapters/node/logger.js';
import { nodeRandom } from '../agent/adapters/node/random.js';
import { nodeScheduler } from '../agent/adapters/node/scheduler.js';
import { backoffDelay, checkEndpoint, describeConnectError } from '../agent/adapters/node/mqtt-config.js';
import { isTrustError } from '../agent/errors.js';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodePorts } from '../agent/adapters/node/index.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return isTrustError(error) ? error.code : 'not-a-trust-error';
  }
  return undefined;
};

describe('nodeRandom', () => {
  it('returns fresh bytes of the asked length, beyond the 64 KiB Web Crypto limit too', () => {
    const random = nodeRandom();
    const a = random.bytes(32);
    const b = random.bytes(32);
    expect(a).toHaveLength(32);
    expect(a).not.toEqual(b);
    const big = random.bytes(200_000);
    expect(big).toHaveLength(200_000);
    // The tail past the first chunk is filled too (all-zero 1 KiB from a CSPRNG would be a bug, not luck).
    expect(big.subarray(199_000).some((x) => x !== 0)).toBe(true);
    expect(random.bytes(0)).toHaveLength(0);
  });

  it('throws NO_ENTROPY when the host has no source or the source fails', () => {
    expect(codeOf(() => nodeRandom({}).bytes(8))).toBe('NO_ENTROPY');
    const failing = { getRandomValues: (): Uint8Array => { throw new Error('entropy pool gone'); } };
    expect(codeOf(() => nodeRandom(failing).bytes(8))).toBe('NO_ENTROPY');
  });
});

describe('systemClock and nodeScheduler', () => {
  it('wall time is epoch milliseconds and monotonic time never goes back', () => {
    const clock = systemClock();
    const before = Date.now();
    const now = clock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    let last = clock.monotonic();
    for (let i = 0; i < 1_000; i++) {
      const next = clock.monotonic();
      expect(next).toBeGreaterThanOrEqual(last);
      last = next;
    }
  });

  it('fires a timer and cancels another', async () => {
    const scheduler = nodeScheduler({ unref: true });
    const fired: string[] = [];
    const cancelled = scheduler.setTimeout(() => fired.push('cancelled'), 1);
    scheduler.clearTimeout(cancelled);
    await new Promise<void>((resolve) => scheduler.setTimeout(() => (fired.push('ran'), resolve()), 5));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(fired).toEqual(['ran']);
  });
});

describe('nodeLogger', () => {
  it('writes one line per event at or above its level', () => {
    const lines: string[] = [];
    const log = nodeLogger({ level: 'warn', write: (line) => lines.push(line) });
    log.info('hidden');
    log.warn('insecure MQTT transport in use', { clientId: 'dev-1', reason: 'plaintext mqtt transport' });
    log.error('boom');
    expect(lines).toEqual(['warn insecure MQTT transport in use clientId=dev-1 reason="plaintext mqtt transport"', 'error boom']);
  });

  it('writes JSON lines when asked, fields kept apart from the envelope keys', () => {
    const lines: string[] = [];
    const log = nodeLogger({ json: true, write: (line) => lines.push(line), now: () => 0 });
    log.info('started', { level: 'spoofed', count: 3 });
    expect(JSON.parse(lines[0]!)).toEqual({ time: '1970-01-01T00:00:00.000Z', level: 'info', message: 'started', fields: { level: 'spoofed', count: 3 } });
  });
});

describe('broker endpoint checks', () => {
  it('accepts TLS schemes and hides credentials from the loggable form', () => {
    const checked = checkEndpoint({ url: 'mqtts://user:secret@broker.example:8883' });
    expect(checked.displayUrl).toBe('mqtts://broker.example:8883');
    expect(checked.security).toEqual({ encrypted: true, peerVerified: true });
    expect(checkEndpoint({ url: 'wss://broker.example/mqtt' }).displayUrl).toBe('wss://broker.example/mqtt');
  });

  it('refuses plaintext or unverified links without the explicit opt-in, and says so with the right code', () => {
    expect(codeOf(() => checkEndpoint({ url: 'mqtt://127.0.0.1:1883' }))).toBe('INSECURE_TRANSPORT');
    expect(codeOf(() => checkEndpoint({ url: 'ws://127.0.0.1/mqtt' }))).toBe('INSECURE_TRANSPORT');
    expect(codeOf(() => checkEndpoint({ url: 'mqtts://127.0.0.1', rejectUnauthorized: false }))).toBe('INSECURE_TRANSPORT');
    expect(codeOf(() => checkEndpoint({ url: 'tcp://127.0.0.1' }))).toBe('INVALID_CONFIG');
    expect(codeOf(() => checkEndpoint({ url: 'not a url' }))).toBe('INVALID_CONFIG');
    const allowed = checkEndpoint({ url: 'mqtt://127.0.0.1:1883', allowInsecureTransport: true });
    expect(allowed.security).toEqual({ encrypted: false, peerVerified: false, insecureReason: 'plaintext mqtt transport' });
  });

  it('backoff stays within [ceiling/2, ceiling] and the ceiling doubles up to the maximum (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
        const ceiling = Math.min(30_000, 500 * 2 ** Math.min(attempt, 30));
        const delay = backoffDelay(attempt, 500, 30_000, () => r);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
        expect(delay).toBeLessThanOrEqual(ceiling);
      }),
    );
  });

  it('describes connect failures without echoing anything but a code', () => {
    expect(describeConnectError(Object.assign(new Error('x'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }))).toBe(
      'broker certificate rejected (SELF_SIGNED_CERT_IN_CHAIN)',
    );
    expect(describeConnectError(Object.assign(new Error('x'), { code: 5 }))).toBe('broker refused the connection (return code 5)');
  });
});

describe('nodePorts', () => {
  it('assembles working host ports and refuses a plaintext broker without the opt-in', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ta-ports-'));
    try {
      expect(codeOf(() => nodePorts({ dataDir, broker: { url: 'mqtt://127.0.0.1:1883' } }))).toBe('INSECURE_TRANSPORT');
      const ports = nodePorts({ dataDir, broker: { url: 'mqtts://127.0.0.1:8883' }, logLevel: 'error' });
      expect(ports.random.bytes(16)).toHaveLength(16);
      expect(ports.clock.now()).toBeGreaterThan(1_600_000_000_000);
      await ports.storage.writeAtomic('probe.bin', new Uint8Array([7]));
      expect(await ports.storage.read('probe.bin')).toEqual(new Uint8Array([7]));
      const transport = ports.transport({ clientId: 'ports-probe' });
      expect(transport.connected).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
