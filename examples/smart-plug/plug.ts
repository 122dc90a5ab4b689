import { createAgent, nodePorts, type Agent } from 'iot-trust-agent/node';
import { smartPlugRegistry } from './registry.js';

/** What the plug's firmware is given at provisioning (docs/architecture.md, "Provisioning"). */
export interface PlugProvisioning {
  deviceId: string;
  /** Where the agent keeps its keys, store and audit trail (survives reboots). */
  dataDir: string;
  /** The vendor's broker and the CA that signed its certificate. */
  brokerUrl: string;
  caPem: string;
  /** The collector's X25519 public key: every reading is sealed to it. */
  collectorPublicKey: Uint8Array;
}

/** The smart plug's firmware: its own device type and registry, the agent doing the privacy work. */
export class SmartPlug {
  private constructor(readonly agent: Agent) {}

  static async start(p: PlugProvisioning): Promise<SmartPlug> {
    const agent = await createAgent(
      { deviceId: p.deviceId, deviceType: 'smart-plug', registry: smartPlugRegistry, recipientPublicKey: p.collectorPublicKey },
      nodePorts({ dataDir: p.dataDir, broker: { url: p.brokerUrl, ca: p.caPem }, logLevel: 'warn' }),
    );
    await agent.start();
    return new SmartPlug(agent);
  }

  /** The power meter's sample; the agent decides what of it leaves the plug. */
  async power(watts: number, appliance: string): Promise<void> {
    await this.agent.record('power', { watts, appliance });
  }

  /** The plug's on-device inference from the load pattern. Sensitive: dropped on the plug unless the owner opted in. */
  async occupancy(occupied: boolean, confidence: number): Promise<void> {
    await this.agent.record('occupancy', { occupied, confidence });
  }

  async relay(on: boolean): Promise<void> {
    await this.agent.record('relay', { on });
  }

  stop(): Promise<void> {
    return this.agent.stop();
  }
}
