import { createHash } from 'node:crypto';
import { toHex } from '../../agent/crypto/keys.js';
import { isTrustError } from '../../agent/errors.js';
import { topics } from '../../agent/topics.js';
import type { Registry } from '../../agent/policy/index.js';
import type { PreferenceChange, ScenarioEvent } from '../scenario/types.js';
import type { SimDevice } from './device.js';
import { hostilePayload } from './hostile.js';
import { verifyReply } from '../../companion/verify.js';
import type { Companion } from '../../companion/index.js';
import type { AcceptedReply } from '../../agent/owner/replies.js';
import type { World } from './world.js';
import type { PreferenceAck, RightsResult } from '../verdicts/evidence.js';

/** Something the loop must do at a later virtual time (end of an outage, reboot, clock correction). */
export interface Deferred {
  atMs: number;
  run: () => Promise<void>;
}

type Schedule = (item: Deferred) => void;

/** Carry out one scenario event against the real parts; follow-ups (restore, reboot) go to `schedule`. */
export async function runEvent(world: World, event: ScenarioEvent, schedule: Schedule): Promise<void> {
  switch (event.type) {
    case 'preference':
      return ownerRequest(world, event, 'preference', (app) => app.setPreferences(toPatch(event.patch)));
    case 'reset':
      return ownerRequest(world, event, 'preference', (app) => app.reset());
    case 'broker-outage':
      world.outage = true;
      world.network.cutAll();
      await world.network.broker.restart();
      await world.disconnected();
      schedule({ atMs: event.atMs + event.durationMs, run: async () => {
        world.outage = false;
        world.network.restoreAll(world.partitioned);
        await world.reconnected();
      } });
      return;
    case 'partition':
      world.partitioned.add(event.device);
      world.network.cutDevice(event.device);
      await world.disconnected(event.device);
      schedule({ atMs: event.atMs + event.durationMs, run: async () => {
        world.partitioned.delete(event.device);
        world.network.restoreDevice(event.device, world.outage);
        await world.reconnected();
      } });
      return;
    case 'power-loss': {
      const device = deviceOf(world, event.device);
      await device.powerOff(world.rngFor(device.id));
      schedule({ atMs: event.atMs + event.durationMs, run: async () => {
        await world.boot(device);
        await world.reconnected();
      } });
      return;
    }
    case 'clock': {
      const device = deviceOf(world, event.device);
      device.clockOffsetMs += event.jumpMs;
      if (event.durationMs !== undefined) schedule({ atMs: event.atMs + event.durationMs, run: async () => void (device.clockOffsetMs -= event.jumpMs) });
      return;
    }
    case 'policy-update':
      for (const device of world.devices.values()) {
        if (device.type !== event.deviceType || device.agent === undefined) continue;
        await device.agent.rights.updateRegistry(widened(device.agent.policy.registry(), event));
      }
      await world.settle();
      return;
    case 'erase':
    case 'export':
    case 'transfer':
      return dataRight(world, event);
    case 'hostile':
      return hostile(world, event);
  }
}

function deviceOf(world: World, id: string): SimDevice {
  const device = world.devices.get(id);
  if (device === undefined) throw new Error(`unknown device ${id}`);
  return device;
}

export function toPatch(patch: Record<string, PreferenceChange>): unknown {
  const categories: Record<string, { setting: string; retentionMs?: number }> = {};
  for (const [name, change] of Object.entries(patch)) {
    categories[name] = change.retentionMs === undefined ? { setting: change.setting } : { setting: change.setting, retentionMs: change.retentionMs };
  }
  return { categories };
}

/** The device registry with one category widened and the version bumped: what a vendor's policy update ships. */
function widened(current: Registry, event: Extract<ScenarioEvent, { type: 'policy-update' }>): Registry {
  const next = structuredClone(current) as Registry;
  next.version = current.version + 1;
  const category = next.categories.find((c) => c.name === event.category);
  if (category === undefined) return next;
  if (event.widen.retentionMs !== undefined) category.retentionMaxMs = Math.max(category.retentionMaxMs, event.widen.retentionMs);
  for (const recipient of event.widen.recipients ?? []) {
    next.recipients[recipient] ??= `${recipient} (added by a policy update)`;
    if (!category.recipients.includes(recipient)) category.recipients.push(recipient);
  }
  if (event.widen.default !== undefined && category.settings.includes(event.widen.default)) category.default = event.widen.default;
  return next;
}

/** A preference change through the companion: sent now, acknowledged whenever the device can answer. */
async function ownerRequest(
  world: World, event: Extract<ScenarioEvent, { type: 'preference' | 'reset' }>, _kind: string,
  send: (app: Companion) => Promise<AcceptedReply>,
): Promise<void> {
  const owner = world.owners.get(event.device);
  if (owner === undefined) throw new Error(`unknown device ${event.device}`);
  const ack: PreferenceAck = { deviceId: event.device, eventIndex: event.index, requestedAt: world.time.now(), accepted: false, reason: 'no reply received' };
  world.evidence.acks.push(ack);
  const request = send(owner.app).then(
    async (reply) => {
      ack.accepted = true;
      ack.ackedAt = world.time.now();
      delete ack.reason;
      await owner.waitForState(reply);
    },
    (error: unknown) => {
      ack.reason = isTrustError(error) ? `${error.code}: ${error.message}` : String(error);
    },
  );
  world.track(event.device, request);
  await world.settle();
}

async function dataRight(world: World, event: Extract<ScenarioEvent, { type: 'erase' | 'export' | 'transfer' }>): Promise<void> {
  const owner = world.owners.get(event.device);
  const device = deviceOf(world, event.device);
  if (owner === undefined) throw new Error(`unknown device ${event.device}`);
  const result: RightsResult = {
    deviceId: event.device, eventIndex: event.index, kind: event.type, requestedAt: world.time.now(), ok: false, receiptVerified: false,
    error: 'no reply received',
  };
  world.evidence.rights.push(result);
  const app = owner.app;
  const verify = (receipt: Uint8Array | undefined): boolean => {
    if (receipt === undefined) return false;
    try {
      app.verifyReceipt(receipt);
      return true;
    } catch {
      return false;
    }
  };
  const oldSignKey = device.agent?.publicKeys.sign;
  const work = (async () => {
    if (event.type === 'export') {
      const { receipt } = await app.exportData();
      result.receiptVerified = receipt !== undefined;
    } else if (event.type === 'erase') {
      // One user's data on a shared device: the agent finds it by the person identifier, raw or pseudonymised.
      const reply = event.user === undefined ? await app.eraseAll() : await app.eraseUser(event.user);
      result.receiptVerified = verify(reply.receipt);
      await owner.waitForState(reply);
    } else {
      const reply = await app.transfer();
      result.receiptVerified = verify(reply.receipt);
      // New keys: the vendor re-provisions the device, the next owner pairs through the same flow.
      const agent = device.agent;
      if (agent !== undefined) world.collector.addDevice(device.id, agent.publicKeys.box);
      if (oldSignKey !== undefined) owner.previousSignKeys.push(oldSignKey);
      await owner.pair();
    }
    result.ok = true;
    result.completedAt = world.time.now();
    delete result.error;
  })().catch((error: unknown) => {
    result.error = isTrustError(error) && error.code === 'CLOSED' ? 'no reply received (the app closed while waiting)'
      : isTrustError(error) ? `${error.code}: ${error.message}` : String(error);
  });
  world.track(event.device, work);
  await world.settle();
}


/** A digest of what an attacker must not be able to change: enforced preferences, owner, keys, store contents. */
function stateDigest(device: SimDevice): string {
  const agent = device.agent;
  if (agent === undefined) return 'powered-off';
  const status = agent.status();
  const facts = { enforced: status.enforced, paired: status.paired, box: toHex(agent.publicKeys.box), sign: toHex(agent.publicKeys.sign), records: status.store.records };
  return createHash('sha256').update(JSON.stringify(facts)).digest('hex').slice(0, 16);
}

async function hostile(world: World, event: Extract<ScenarioEvent, { type: 'hostile' }>): Promise<void> {
  const device = deviceOf(world, event.device);
  const owner = world.owners.get(event.device);
  if (owner === undefined) throw new Error(`unknown device ${event.device}`);
  for (let i = 0; i < event.count; i++) {
    const agent = device.agent;
    const before = stateDigest(device);
    const counts = agent?.status().commands;
    const payload = hostilePayload(event.kind, device, owner, world.time.now(), world.lastRequest.get(device.id), world.rngFor(device.id));
    world.hostileInFlight = true;
    const mark = world.evidence.wire.length;
    await world.attacker.publish(topics.commandRequest(device.id), payload, { qos: 1 });
    await world.settle();
    // Every message the channel takes in ends as accepted, rejected, dropped or rate-limited: wait for that.
    const handled = (): boolean => {
      const c = agent?.status().commands;
      return c !== undefined && counts !== undefined && c.received > counts.received && c.accepted + c.rejected + c.dropped + c.rateLimited >= c.received;
    };
    const start = performance.now();
    while (!handled() && performance.now() - start < 5_000) await new Promise((r) => setImmediate(r));
    await world.settle();
    world.hostileInFlight = false;
    const after = agent?.status().commands;
    const accepted = after !== undefined && counts !== undefined && after.accepted > counts.accepted;
    world.evidence.hostile.push({
      deviceId: device.id, eventIndex: event.index, kind: event.kind, at: world.time.now(),
      rejected: handled() && !accepted, reason: replyCode(world, device, mark) ?? reasonOf(counts, after), stateBefore: before, stateAfter: stateDigest(device),
    });
  }
}

/** The code of a signed rejection the device published since `mark` (forged, replayed and stale requests get one). */
function replyCode(world: World, device: SimDevice, mark: number): string | undefined {
  const key = device.agent?.publicKeys.sign;
  if (key === undefined) return undefined;
  for (const message of world.evidence.wire.slice(mark)) {
    if (!message.topic.startsWith(`ta/v1/${device.id}/cmd/res/`) || !message.topic.endsWith('/rejected')) continue;
    try {
      const reply = verifyReply(message.payload, key, device.id);
      if (reply.outcome === 'rejected') return reply.code;
    } catch {
      // not a reply signed by this device: ignore
    }
  }
  return undefined;
}

type Commands = { received: number; accepted: number; rejected: number; dropped: number; rateLimited: number } | undefined;

function reasonOf(before: Commands, after: Commands): string {
  if (before === undefined || after === undefined) return 'device not running';
  if (after.rateLimited > before.rateLimited) return 'rate-limited';
  if (after.dropped > before.dropped) return 'dropped before parsing';
  if (after.rejected > before.rejected) return 'rejected';
  if (after.accepted > before.accepted) return 'ACCEPTED';
  return 'no response';
}
