import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pairingQrSvg, pairingQrText } from '../../agent/adapters/node/pairing-qr.js';
import { toHex } from '../../agent/crypto/keys.js';
import type { World } from './world.js';

/** What `writeAttachFiles` wrote, for the caller to print. */
export interface AttachFiles {
  dir: string;
  brokerUrl: string;
  wsUrl?: string;
}

/**
 * Everything an outside tool needs to attach to a running simulation: the broker URL (and WSS URL for a browser),
 * the CA, the collector's key pair (an independent decoder opens telemetry with it), each device's public keys, and
 * for devices left unpaired the pairing payload as text and QR (SVG and terminal text). Simulation only: the
 * collector key is derived from the seed and must never be used for a real fleet.
 */
export async function writeAttachFiles(world: World, dir: string): Promise<AttachFiles> {
  const broker = world.network.broker;
  await mkdir(join(dir, 'devices'), { recursive: true });
  const collector = world.collectorKeys();
  const brokerInfo = {
    url: broker.url, ...(broker.wsUrl === undefined ? {} : { wsUrl: broker.wsUrl }), ca: 'ca.pem', topicPrefix: 'ta/v1/',
    scenario: world.scenario.name, seed: world.scenario.seed, startedAt: new Date(world.scenario.startMs).toISOString(),
  };
  await writeFile(join(dir, 'broker.json'), `${JSON.stringify(brokerInfo, null, 2)}\n`);
  await writeFile(join(dir, 'ca.pem'), broker.caPem);
  await writeFile(join(dir, 'collector.json'), `${JSON.stringify({
    note: 'simulation only: derived from the scenario seed; never use it for real devices',
    publicKey: toHex(collector.publicKey), secretKey: toHex(collector.secretKey),
  }, null, 2)}\n`, { mode: 0o600 });
  const devices: string[] = [];
  for (const device of world.devices.values()) {
    const agent = device.agent;
    if (agent === undefined) continue;
    const base = join(dir, 'devices', device.id);
    await mkdir(base, { recursive: true });
    const window = world.pairingWindows.get(device.id);
    await writeFile(join(base, 'device.json'), `${JSON.stringify({
      id: device.id, type: device.type,
      publicKeys: { sign: toHex(agent.publicKeys.sign), box: toHex(agent.publicKeys.box) },
      paired: window === undefined ? 'by the simulator (its own companion is the owner)' : 'no: pair it with the payload below',
      ...(window === undefined ? {} : { pairing: { payload: window.payload, setupCode: window.setupCode, expiresInMs: window.expiresInMs } }),
    }, null, 2)}\n`);
    if (window !== undefined) {
      await writeFile(join(base, 'pairing-qr.svg'), pairingQrSvg(window.payload, { title: `Pair ${device.id}` }));
      await writeFile(join(base, 'pairing-qr.txt'), `${pairingQrText(window.payload)}\n${window.payload}\nsetup code ${window.setupCode}\n`);
    }
    devices.push(`${device.id} (${device.type})${window === undefined ? '' : ': unpaired, pairing-qr.svg / pairing-qr.txt'}`);
  }
  await writeFile(join(dir, 'README.txt'), readme(brokerInfo.url, broker.wsUrl, devices, world.scenario.speed));
  return { dir, brokerUrl: broker.url, ...(broker.wsUrl === undefined ? {} : { wsUrl: broker.wsUrl }) };
}

function readme(url: string, wsUrl: string | undefined, devices: string[], speed: string): string {
  return `Attach to this simulation run (files written by trust-agent simulate --keys-out).

broker.json     broker URL${wsUrl === undefined ? '' : ' and the WebSocket-over-TLS URL (browser companion)'}, topic prefix, scenario and seed
ca.pem          the CA the broker certificate is verified with
collector.json  the collector's X25519 key pair (hex): an independent decoder opens ta/v1/<device>/telemetry with it
devices/<id>/device.json   the device's public keys (Ed25519 sign, X25519 box); pairing payload when unpaired
devices/<id>/pairing-qr.svg, pairing-qr.txt   the pairing payload as a QR code (unpaired devices only)

Broker: ${url}${wsUrl === undefined ? '' : `\nWebSocket: ${wsUrl}`}
Watch everything:   any MQTT client with --cafile ca.pem on ${url}, topic ta/v1/#
Pair a device:      trust-agent companion pair <payload from pairing-qr.txt> --broker ${url} --ca ca.pem
Devices:
${devices.map((d) => `  ${d}`).join('\n')}
${speed === 'realtime' ? '' : '\nThis run is on virtual time: pairing windows close after a few virtual minutes. Use --speed realtime to pair by hand.\n'}`;
}
