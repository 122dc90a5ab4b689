import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { consoleLogger, formatLine, memoryLogger } from '../agent/adapters/memory/logger.js';
import { noEntropyRandom, seededRandom } from '../agent/adapters/memory/random.js';
import { createVirtualTime } from '../agent/adapters/memory/time.js';
import { isTrustError } from '../agent/errors.js';

describe('seededRandom', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = seededRandom('sim-seed-1');
    const b = seededRandom('sim-seed-1');
    const c = seededRandom(new Uint8Array([1, 2, 3]));
    const first = a.bytes(100);
    expect(b.bytes(100)).toEqual(first);
    expect(c.bytes(100)).not.toEqual(first);
    expect(first.some((x) => x !== 0)).toBe(true);
  });

  it('yields the same stream however the reads are split', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 150 }), { maxLength: 12 }), (sizes) => {
        const whole = seededRandom('split').bytes(sizes.reduce((s, n) => s + n, 0));
        const pieces = seededRandom('split');
        const joined = sizes.flatMap((n) => Array.from(pieces.bytes(n)));
        expect(Uint8Array.from(joined)).toEqual(whole);
      }),
    );
  });

  it('rejects a bad length', () => {
    expect(() => seededRandom('x').bytes(-1)).toThrow(/non-negative/);
  });
});

describe('noEntropyRandom', () => {
  it('throws NO_ENTROPY instead of returning bytes', () => {
    let caught: unknown;
    try {
      noEntropyRandom().bytes(32);
    } catch (error) {
      caught = error;
    }
    expect(isTrustError(caught, 'NO_ENTROPY')).toBe(true);
  });
});

describe('virtual time', () => {
  it('runs timers in due order, ties in creation order, and advances the clocks', async () => {
    const time = createVirtualTime(1_700_000_000_000);
    const fired: string[] = [];
    time.setTimeout(() => fired.push(`c@${time.monotonic()}`), 30);
    time.setTimeout(() => fired.push(`a@${time.monotonic()}`), 10);
    time.setTimeout(() => fired.push(`b@${time.monotonic()}`), 10);
    time.setTimeout(() => fired.push('late'), 31);
    await time.advance(30);
    expect(fired).toEqual(['a@10', 'b@10', 'c@30']);
    expect(time.monotonic()).toBe(30);
    expect(time.now()).toBe(1_700_000_000_030);
    expect(time.pendingTimers()).toBe(1);
    expect(time.nextDueAt()).toBe(31);
  });

  it('fires timers scheduled by callbacks and by settled promise chains inside the window', async () => {
    const time = createVirtualTime(0);
    const fired: number[] = [];
    const sleep = (ms: number) => new Promise<void>((resolve) => time.setTimeout(resolve, ms));
    void (async () => {
      for (let i = 0; i < 5; i++) {
        await sleep(100);
        await Promise.resolve();
        fired.push(time.monotonic());
      }
    })();
    await time.advance(350);
    expect(fired).toEqual([100, 200, 300]);
    await time.advanceTo(1_000);
    expect(fired).toEqual([100, 200, 300, 400, 500]);
  });

  it('clearTimeout cancels a timer', async () => {
    const time = createVirtualTime(0);
    let fired = false;
    const handle = time.setTimeout(() => (fired = true), 5);
    time.clearTimeout(handle);
    await time.advance(10);
    expect(fired).toBe(false);
    expect(time.pendingTimers()).toBe(0);
  });

  it('jumpWall moves the wall clock only; timers stay on the monotonic axis', async () => {
    const time = createVirtualTime(10_000);
    let firedAtWall = -1;
    time.setTimeout(() => (firedAtWall = time.now()), 1_000);
    time.jumpWall(-5_000);
    expect(time.now()).toBe(5_000);
    expect(time.monotonic()).toBe(0);
    await time.advance(999);
    expect(firedAtWall).toBe(-1);
    await time.advance(1);
    expect(firedAtWall).toBe(6_000);
    time.jumpWall(86_400_000);
    expect(time.monotonic()).toBe(1_000);
  });

  it('fires every timer exactly once in nondecreasing due order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 30 }), fc.integer({ min: 1, max: 200 }), async (delays, step) => {
        const time = createVirtualTime(0);
        const fired: Array<{ due: number; index: number; at: number }> = [];
        delays.forEach((delay, index) => time.setTimeout(() => fired.push({ due: delay, index, at: time.monotonic() }), delay));
        while (time.pendingTimers() > 0) await time.advance(step);
        expect(fired).toHaveLength(delays.length);
        for (const entry of fired) expect(entry.at).toBe(entry.due);
        for (let i = 1; i < fired.length; i++) {
          const prev = fired[i - 1]!;
          const cur = fired[i]!;
          expect(prev.due < cur.due || (prev.due === cur.due && prev.index < cur.index)).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('uses an injected flush between timers', async () => {
    let flushes = 0;
    const time = createVirtualTime(0, { flush: async () => void flushes++ });
    time.setTimeout(() => undefined, 1);
    time.setTimeout(() => undefined, 2);
    await time.advance(5);
    expect(flushes).toBe(3);
  });

  it('a throwing callback rejects advance, stops time at that timer and leaves later timers pending', async () => {
    const time = createVirtualTime(0);
    let later = false;
    time.setTimeout(() => {
      throw new Error('callback bug');
    }, 10);
    time.setTimeout(() => (later = true), 20);
    await expect(time.advance(30)).rejects.toThrow('callback bug');
    expect(time.monotonic()).toBe(10);
    expect(later).toBe(false);
    await time.advance(20);
    expect(later).toBe(true);
  });

  it('refuses to advance re-entrantly', async () => {
    const time = createVirtualTime(0);
    const first = time.advance(10);
    await expect(time.advance(10)).rejects.toThrow(/already advancing/);
    await first;
  });
});

describe('loggers', () => {
  it('memoryLogger keeps entries with their fields', () => {
    const log = memoryLogger();
    log.warn('insecure transport', { clientId: 'dev-1' });
    log.info('started');
    expect(log.find('warn', 'insecure')).toEqual([{ level: 'warn', message: 'insecure transport', fields: { clientId: 'dev-1' } }]);
    expect(log.entries).toHaveLength(2);
    log.clear();
    expect(log.entries).toHaveLength(0);
  });

  it('formatLine quotes values that need it and skips undefined fields', () => {
    expect(formatLine('info', 'hello', { a: 1, b: 'two words', c: undefined, d: true })).toBe('info hello a=1 b="two words" d=true');
  });

  it('consoleLogger filters by level and writes through globalThis.console', () => {
    const original = globalThis.console;
    const lines: string[] = [];
    const capture = { log: (line: string) => lines.push(`log:${line}`), warn: (line: string) => lines.push(`warn:${line}`) };
    try {
      (globalThis as { console: unknown }).console = capture;
      const log = consoleLogger('info');
      log.debug('hidden');
      log.info('shown', { n: 1 });
      log.warn('careful');
      (globalThis as { console?: unknown }).console = undefined;
      log.error('nowhere to go');
    } finally {
      (globalThis as { console: unknown }).console = original;
    }
    expect(lines).toEqual(['log:info shown n=1', 'warn:warn careful']);
  });
});
