import { seededRandom, type VirtualTime } from '../../agent/adapters/memory/index.js';
import type { Transport, TransportOptions } from '../../agent/ports/index.js';
import { createCompanion, generateOwnerKeys, type Companion, type OwnerKeys } from '../../companion/index.js';
import type { AcceptedReply } from '../../agent/owner/replies.js';
import type { SimDevice } from './device.js';

/**
 * Virtual time stands still while a reply is awaited, so this only bounds requests to offline devices (and replies
 * that never come): a little longer than the request lifetime.
 */
const REPLY_TIMEOUT_MS = 25 * 3_600_000;
/** The longest lifetime the device accepts: a request queued on the broker for an offline device stays valid. */
const REQUEST_LIFETIME_MS = 24 * 3_600_000;

/** The owner of one device: their keys and a companion app with its own MQTT session, on the virtual clock. */
export class SimOwner {
  companion: Companion | undefined;
  keys: OwnerKeys | undefined;
  /** Device sign keys of earlier owners' eras (after transfers), to verify the whole audit trail. */
  readonly previousSignKeys: Uint8Array[] = [];

  /** Pairings so far: each new owner (after a transfer) gets keys of their own. */
  private pairings = 0;

  constructor(
    private readonly device: SimDevice, private readonly time: VirtualTime, private readonly transport: (o: TransportOptions) => Transport,
    private readonly seed: number,
  ) {}

  /** The real pairing flow: the device's button opens a window, the app scans the QR payload, then reviews the manifest. */
  async pair(): Promise<void> {
    const agent = this.device.agent;
    if (agent === undefined) throw new Error(`${this.device.id} is not powered`);
    await this.companion?.close();
    // Seeded like the devices (simulation only): the owner's key id is in the device's audit trail, and its request
    // ids and nonces are on the wire, so host randomness here would make the device files differ between runs.
    this.pairings++;
    const label = `sim/${this.seed}/${this.device.id}/owner-${this.pairings}`;
    this.keys = generateOwnerKeys(seededRandom(`${label}/keys`));
    this.companion = await createCompanion({
      transport: this.transport, ownerKeys: this.keys, deviceId: this.device.id, clock: this.time, scheduler: this.time, random: seededRandom(`${label}/app`),
      timeoutMs: REPLY_TIMEOUT_MS, requestLifetimeMs: REQUEST_LIFETIME_MS,
    });
    const { payload } = agent.openPairingWindow();
    await this.companion.pair(payload);
    await this.waitForState(await this.companion.setPreferences({ manifestReviewed: true }));
  }

  get app(): Companion {
    if (this.companion === undefined) throw new Error(`${this.device.id} has no paired companion`);
    return this.companion;
  }

  /** After an accepted change the next request must carry the new version: wait until the app has seen it. */
  waitForState(reply: AcceptedReply): Promise<AcceptedReply> {
    const app = this.app;
    return new Promise((resolve) => {
      let stop: (() => void) | undefined;
      let done = false;
      const check = (version: number): void => {
        if (done || version < reply.version) return;
        done = true;
        stop?.();
        resolve(reply);
      };
      stop = app.watchState((state) => check(state.version));
      if (done) stop();
    });
  }

  async close(): Promise<void> {
    await this.companion?.close();
  }
}
