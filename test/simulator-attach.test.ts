import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeMqttTransport } from '../agent/adapters/node/index.js';
import { fromHex, toHex } from '../agent/crypto/keys.js';
import { quietLogger } from '../simulator/run/infra.js';
import type { Transport } from '../agent/ports/index.js';
import type { Agent } from '../agent/agent.js';
import { createCollector } from '../collector/index.js';
import { createCompanion, generateOwnerKeys, type Companion } from '../companion/index.js';
import { runSimulation } from '../simulator/run/index.js';
import { leaveUnpaired } from '../simulator/scenario/override.js';
import { DAY, failed, scenario } from './simulator-run-support.js';

const dir = mkdtempSync(join(tmpdir(), 'sim-attach-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const json = <T>(path: string): T => JSON.parse(readFileSync(join(dir, path), 'utf8')) as T;

describe('attach to a run with the files it writes (--keys-out)', () => {
  it('an outside decoder opens the telemetry with collector.json; an outside companion pairs the unpaired device from pairing-qr.txt', async () => {
    const { scenario: s, removed } = leaveUnpaired(await scenario('default', DAY / 4), ['tracker-1']);
    expect(removed.length).toBeGreaterThan(0); // the tracker's owner events belong to the outside owner now
    const decoded = new Map<string, Set<string>>();
    let watcher: Transport | undefined;
    let outsideOwner: Companion | undefined;
    let ownerKeyId = '';
    let pairedAfter = false;
    let tracker: Agent | undefined;
    const result = await runSimulation(s, {
      keysOut: dir, unpaired: ['tracker-1'],
      afterBoot: (agent, d) => { if (d.id === 'tracker-1') tracker = agent; },
      onAttach: async (files) => {
        // Only what is on disk: nothing from the simulator's memory.
        const broker = json<{ url: string; wsUrl?: string; ca: string; topicPrefix: string }>('broker.json');
        expect(files.brokerUrl).toBe(broker.url);
        expect(broker.wsUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
        const ca = readFileSync(join(dir, broker.ca), 'utf8');
        const collectorKeys = json<{ secretKey: string }>('collector.json');
        // The devices' clock is virtual and stands at the start while the files are read.
        const decoder = createCollector({ secretKey: fromHex(collectorKeys.secretKey), now: () => s.startMs });
        for (const d of s.devices) decoder.addDevice(d.id, fromHex(json<{ publicKeys: { box: string } }>(`devices/${d.id}/device.json`).publicKeys.box));
        decoder.onReading((deviceId, reading) => {
          const set = decoded.get(deviceId) ?? new Set<string>();
          decoded.set(deviceId, set.add(`${reading.id.session}:${reading.id.seq}`));
        });
        const transports = nodeMqttTransport({ url: broker.url, ca, logger: quietLogger });
        watcher = transports({ clientId: 'outside-decoder', cleanSession: false });
        await watcher.connect();
        await decoder.attach(watcher);
        // The pairing payload is the last-but-one line of the QR text file (under the code, above the setup code).
        const qrText = readFileSync(join(dir, 'devices/tracker-1/pairing-qr.txt'), 'utf8').trimEnd().split('\n');
        expect(qrText.some((l) => l.includes('█'))).toBe(true);
        const payload = qrText[qrText.length - 2] ?? '';
        expect(payload).toMatch(/^ta1:/);
        expect(readFileSync(join(dir, 'devices/tracker-1/pairing-qr.svg'), 'utf8')).toMatch(/^<svg [^>]*role="img"/);
        const keys = generateOwnerKeys();
        ownerKeyId = toHex(keys.signPublicKey);
        outsideOwner = await createCompanion({ transport: transports, ownerKeys: keys, deviceId: 'tracker-1', clock: { now: () => s.startMs, monotonic: () => 0 } });
        expect(tracker?.status().paired).toBe(false);
        expect(json<{ pairing: { payload: string } }>('devices/tracker-1/device.json').pairing.payload).toBe(payload);
        await outsideOwner.pair(payload);
        pairedAfter = tracker?.status().paired === true;
      },
    });
    await outsideOwner?.close();
    await watcher?.close();
    expect(failed(result.verdicts)).toEqual([]);
    // The outside decoder opened what the simulator's collector delivered (nothing it did not).
    for (const d of s.devices) {
      const delivered = new Set(result.evidence.delivered.filter((r) => r.deviceId === d.id).map((r) => r.id));
      const seen = decoded.get(d.id) ?? new Set<string>();
      expect(delivered.size, d.id).toBeGreaterThan(0);
      for (const id of seen) expect(delivered.has(id), `${d.id} ${id}`).toBe(true);
      expect(seen.size, d.id).toBeGreaterThan(delivered.size * 0.9);
    }
    expect(ownerKeyId).not.toBe('');
    expect(pairedAfter).toBe(true);
  }, 180_000);
});
