import nacl from 'tweetnacl';
import { createCollector, type Collector } from 'iot-trust-agent/collector';
import { createCompanion, generateOwnerKeys } from 'iot-trust-agent/companion';
import { nodeMqttTransport, nodeLogger, type Transport } from 'iot-trust-agent/node';
import { SmartPlug } from './plug.js';

/**
 * The smart plug end to end: the plug's agent, the vendor's collector and the owner's companion on one broker.
 * `test/example-smart-plug.test.ts` runs it against the embedded broker; point it at your own with brokerUrl/caPem.
 */
export interface RunOptions {
  brokerUrl: string;
  caPem: string;
  dataDir: string;
}

export interface RunResult {
  /** What the collector received, per category, in arrival order. */
  received: Record<string, Array<Record<string, unknown>>>;
  /** The plug's privacy manifest as the companion verified it (signed by the plug). */
  manifestCategories: string[];
  rejectedAtCollector: number;
}

const logger = nodeLogger({ level: 'warn' });

export async function runSmartPlugExample(options: RunOptions): Promise<RunResult> {
  // 1. The vendor's collector: its key pair (in production `trust-agent keys` makes it once and the public half is
  //    built into the firmware), subscribed to every device's telemetry.
  const collectorKeys = nacl.box.keyPair();
  const collector = createCollector({ secretKey: collectorKeys.secretKey, now: () => Date.now() });
  const received: RunResult['received'] = {};
  collector.onReading((_device, reading) => (received[reading.category] ??= []).push(reading.data));
  const collectorLink = await connect(options, 'smart-plug-collector');
  await collector.attach(collectorLink);

  // 2. The plug boots with its own registry; provisioning tells the collector its public key.
  const plug = await SmartPlug.start({
    deviceId: 'plug-1', dataDir: options.dataDir, brokerUrl: options.brokerUrl, caPem: options.caPem, collectorPublicKey: collectorKeys.publicKey,
  });
  collector.addDevice('plug-1', plug.agent.publicKeys.box);

  // 3. The owner pairs with the setup code from the plug's button, reviews the manifest, opts into occupancy.
  const companion = await createCompanion({ transport: nodeMqttTransport({ url: options.brokerUrl, ca: options.caPem, logger }), ownerKeys: generateOwnerKeys(), deviceId: 'plug-1' });
  try {
    await companion.pair(plug.agent.openPairingWindow().payload);
    const manifest = (await companion.manifest()) as { categories: Array<{ name: string }> };
    await sendReadings(plug, false);
    await companion.setPreferences({ manifestReviewed: true, categories: { occupancy: { setting: 'full' } } });
    await sendReadings(plug, true);
    await plug.agent.flush();
    await waitFor(() => (received['occupancy']?.length ?? 0) >= 1 && (received['power']?.length ?? 0) >= 2);
    return { received, manifestCategories: manifest.categories.map((c) => c.name), rejectedAtCollector: rejected(collector) };
  } finally {
    await companion.close();
    await plug.stop();
    await collectorLink.close();
  }
}

/** Before the owner's review only essential data flows: power and occupancy stay on the plug. */
async function sendReadings(plug: SmartPlug, reviewed: boolean): Promise<void> {
  await plug.relay(true);
  await plug.power(reviewed ? 1234 : 999, 'kettle');
  await plug.occupancy(true, 80);
  if (reviewed) await plug.power(87, 'kettle');
}

async function connect(options: RunOptions, clientId: string): Promise<Transport> {
  const transport = nodeMqttTransport({ url: options.brokerUrl, ca: options.caPem, logger })({ clientId, cleanSession: false });
  await transport.connect();
  return transport;
}

function rejected(collector: Collector): number {
  return Object.values(collector.stats().rejected).reduce((a, b) => a + b, 0);
}

async function waitFor(check: () => boolean, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('the collector did not receive the expected readings in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
