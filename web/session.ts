import { TrustError } from '../agent/errors.js';
import type { Manifest } from '../agent/policy/manifest-types.js';
import type { AcceptedReply, Receipt, RejectedReply, StateReport } from '../agent/owner/replies.js';
import { createCompanion, type Companion, type DeviceStatus, type RefusedMessage } from '../companion/client.js';
import type { OwnerKeys } from '../companion/keys.js';
import { browserMqttTransport } from './transport.js';
import { REFUSED_WORDS, rejectionWords } from './words.js';

/** The life of one request, as the owner sees it. Only a verified accepted reply makes it `applied`. */
export type ChangeStatus = 'sent' | 'waiting' | 'applied' | 'rejected' | 'failed';

export interface Change {
  id: number;
  title: string;
  status: ChangeStatus;
  /** Plain words: what happened, or why not. */
  detail: string;
  at: number;
  /** From the device-signed reply, once applied. */
  reply?: AcceptedReply;
  receipt?: Receipt;
}

export interface Notice {
  at: number;
  text: string;
}

/** How long the device may take to answer before the app says it is waiting for the device. */
const ANSWER_MS = 4_000;
/** How long a request stays valid for an offline device (and how long the app keeps waiting for it). */
export const REQUEST_LIFETIME_MS = 10 * 60_000;

/**
 * One paired device over one broker connection: the verified manifest and state, the link and device status,
 * every change with its state, and the messages that were not believed. `onUpdate` fires after any of them changes.
 */
export class DeviceSession {
  manifest: Manifest | undefined;
  state: StateReport | undefined;
  linkUp = false;
  deviceStatus: DeviceStatus = 'unknown';
  readonly changes: Change[] = [];
  readonly notices: Notice[] = [];
  private nextId = 1;
  private listeners = new Set<() => void>();

  private constructor(readonly deviceId: string, readonly companion: Companion) {}

  static async open(options: {
    brokerUrl: string; deviceId: string; ownerKeys: OwnerKeys; devicePublicKeys?: { signPublicKey: Uint8Array; boxPublicKey: Uint8Array };
  }): Promise<DeviceSession> {
    const make = browserMqttTransport(options.brokerUrl);
    const transport = make({ clientId: `ta-web-${Math.random().toString(36).slice(2, 12)}`, cleanSession: true });
    let session: DeviceSession | undefined;
    transport.onConnection((up) => session?.setLink(up));
    const companion = await createCompanion({
      transport, ownerKeys: options.ownerKeys, deviceId: options.deviceId, timeoutMs: REQUEST_LIFETIME_MS, requestLifetimeMs: REQUEST_LIFETIME_MS,
      ...(options.devicePublicKeys === undefined ? {} : { devicePublicKeys: options.devicePublicKeys }),
    });
    session = new DeviceSession(options.deviceId, companion);
    session.linkUp = transport.connected;
    session.watch();
    return session;
  }

  onUpdate(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Call after pairing: the companion now knows the device keys, so the retained documents can be verified. */
  watch(): void {
    this.companion.watchManifest((manifest) => { this.manifest = manifest as Manifest; this.emit(); });
    this.companion.watchState((state) => { this.state = state; this.emit(); });
    this.companion.watchStatus((status) => { this.deviceStatus = status; this.markWaiting(); this.emit(); });
    this.companion.watchRefused((refused) => this.refused(refused));
  }

  /**
   * Runs one request and tracks it: sent, then waiting when the device is offline or slow, then applied (with
   * the signed reply) or rejected (with the reason in words). Resolves with the reply when applied.
   */
  async track(title: string, run: () => Promise<AcceptedReply>, caveat?: (reply: AcceptedReply) => string | undefined): Promise<AcceptedReply | undefined> {
    const change: Change = { id: this.nextId++, title, status: 'sent', detail: 'Sent to the device; waiting for its signed answer.', at: Date.now() };
    this.changes.unshift(change);
    this.emit();
    const slow = setTimeout(() => this.wait(change), ANSWER_MS);
    if (this.deviceStatus === 'offline') this.wait(change);
    try {
      const reply = await run();
      change.status = 'applied';
      change.reply = reply;
      change.detail = `The device applied it and signed its enforced state (settings version ${reply.version}).`;
      const note = caveat?.(reply);
      if (note !== undefined) change.detail += ` ${note}`;
      if (reply.receipt !== undefined) change.receipt = this.companion.verifyReceipt(reply.receipt);
      return reply;
    } catch (error) {
      this.failed(change, error);
      return undefined;
    } finally {
      clearTimeout(slow);
      change.at = Date.now();
      this.emit();
    }
  }

  close(): Promise<void> {
    this.listeners.clear();
    return this.companion.close();
  }

  private wait(change: Change): void {
    if (change.status !== 'sent') return;
    change.status = 'waiting';
    change.detail = this.deviceStatus === 'offline'
      ? 'Waiting for the device to come online: it is offline, and will apply the change when it reconnects (within 10 minutes, or the request expires and changes nothing).'
      : 'Waiting for the device to answer: nothing is applied until the device signs its new state.';
    this.emit();
  }

  private markWaiting(): void {
    if (this.deviceStatus !== 'offline') return;
    for (const change of this.changes) if (change.status === 'sent' || change.status === 'waiting') { change.status = 'sent'; this.wait(change); }
  }

  private failed(change: Change, error: unknown): void {
    const rejected = (error as { cause?: RejectedReply } | undefined)?.cause;
    if (rejected?.outcome === 'rejected') {
      change.status = 'rejected';
      change.detail = rejectionWords(rejected.code, rejected.reason);
      return;
    }
    change.status = 'failed';
    const code = error instanceof TrustError ? error.code : 'ERROR';
    change.detail = code === 'TRANSPORT' && !this.linkUp
      ? 'Not sent: this browser has no connection to the broker. Nothing changed.'
      : code === 'TRANSPORT'
        ? 'The device did not answer in time; the request has expired and changes nothing.'
        : `Failed: ${error instanceof Error ? error.message : String(error)}. Nothing is shown as applied.`;
  }

  private setLink(up: boolean): void {
    this.linkUp = up;
    this.emit();
  }

  private refused(refused: RefusedMessage): void {
    const channel = refused.topic.split('/').slice(3).join('/') || refused.topic;
    const why = REFUSED_WORDS[refused.code] ?? refused.reason;
    this.notices.unshift({ at: Date.now(), text: `Ignored a message on "${channel}": ${why}. It was not believed and changes nothing here.` });
    this.notices.splice(20);
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}
