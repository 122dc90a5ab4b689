import { createAgent, type Agent } from '../../agent/agent.js';
import { registryFor } from '../../agent/policy/devices/index.js';
import type { Registry } from '../../agent/policy/registry-types.js';
import type { DeviceType } from '../../agent/config.js';
import { memoryStorage, seededRandom, type MemoryStorage, type VirtualTime } from '../../agent/adapters/memory/index.js';
import type { LoggerPort, Ports, SchedulerPort, StoragePort, TimerHandle, TransportOptions } from '../../agent/ports/index.js';
import type { StoredRecord } from '../../agent/store/index.js';
import { saveIdentity, type DeviceIdentity } from '../../agent/crypto/keys.js';
import type { DeviceModel } from '../models/types.js';
import type { CountedTransport } from './traffic.js';

/** A dead device does nothing: its pending I/O never completes and its timers never fire. */
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/** Storage and timers of one boot of a device; cutting the power stops both at once. */
class PowerGate {
  alive = true;
  /** Pending timers of this boot and the monotonic instant each falls due (for the run loop's coalescing). */
  private readonly timers = new Map<TimerHandle, number>();

  constructor(private readonly time: VirtualTime, private readonly onFire: () => void) {}

  storage(inner: StoragePort): StoragePort {
    const guard = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A): Promise<R> => (this.alive ? fn(...args) : never<R>());
    return {
      read: guard((name) => inner.read(name)),
      writeAtomic: guard((name, data) => inner.writeAtomic(name, data)),
      append: guard((name, data) => inner.append(name, data)),
      sync: guard((name) => inner.sync(name)),
      truncate: guard((name, length) => inner.truncate(name, length)),
      remove: guard((name) => inner.remove(name)),
      list: guard((prefix) => inner.list(prefix)),
    };
  }

  scheduler(): SchedulerPort {
    return {
      setTimeout: (callback, delayMs) => {
        if (!this.alive) return 0;
        const dueAt = this.time.monotonic() + (Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0);
        const handle = this.time.setTimeout(() => {
          this.timers.delete(handle);
          if (!this.alive) return;
          this.onFire();
          callback();
        }, delayMs);
        this.timers.set(handle, dueAt);
        return handle;
      },
      clearTimeout: (handle) => {
        this.timers.delete(handle);
        this.time.clearTimeout(handle);
      },
    };
  }

  get pending(): number {
    return this.timers.size;
  }

  hasTimerDueAt(monotonicMs: number): boolean {
    for (const dueAt of this.timers.values()) if (dueAt <= monotonicMs) return true;
    return false;
  }

  cut(): void {
    this.alive = false;
    for (const handle of this.timers.keys()) this.time.clearTimeout(handle);
    this.timers.clear();
  }
}

export interface DeviceHooks {
  onStored(device: SimDevice, records: readonly StoredRecord[]): void;
  /** Called as one of the device's timers fires, before its callback runs. */
  onTimer?(device: SimDevice): void;
}

export interface SimDeviceOptions {
  id: string;
  type: DeviceType;
  seed: number;
  model: DeviceModel;
  /** A custom type's registry (from the scenario); a shipped type runs its own. */
  registry?: Registry;
  time: VirtualTime;
  recipientPublicKey: Uint8Array;
  transport: (options: TransportOptions) => CountedTransport;
  logger: LoggerPort;
  hooks: DeviceHooks;
  /** Provisioned into the device's flash before its first boot (see simulator/shard/identity.ts). */
  identity?: DeviceIdentity;
}

/**
 * One simulated device: a model, a persistent memory "flash" that survives power loss (minus unsynced bytes), a
 * device clock that can be skewed, and the real agent of the current boot.
 */
export class SimDevice {
  readonly id: string;
  readonly type: DeviceType;
  readonly model: DeviceModel;
  readonly storage: MemoryStorage = memoryStorage();
  /** Device clock error (ms): what a clock jump event sets. */
  clockOffsetMs = 0;
  agent: Agent | undefined;
  transport: CountedTransport | undefined;
  boots = 0;
  partitioned = false;
  private gate: PowerGate | undefined;

  constructor(private readonly options: SimDeviceOptions) {
    this.id = options.id;
    this.type = options.type;
    this.model = options.model;
  }

  get powered(): boolean {
    return this.agent !== undefined;
  }

  get online(): boolean {
    return this.transport?.connected === true;
  }

  /** Boot: a new agent on the same storage, its own seeded random, the shared virtual time seen through this clock. */
  async boot(): Promise<Agent> {
    const { time } = this.options;
    const gate = new PowerGate(time, () => this.options.hooks.onTimer?.(this));
    this.gate = gate;
    if (this.boots === 0 && this.options.identity !== undefined) await saveIdentity(this.storage, this.options.identity);
    this.boots++;
    let transport: CountedTransport | undefined;
    const ports: Ports = {
      random: seededRandom(`sim/${this.options.seed}/${this.id}/boot-${this.boots}`),
      clock: { now: () => time.now() + this.clockOffsetMs, monotonic: () => time.monotonic() },
      scheduler: gate.scheduler(),
      storage: gate.storage(this.storage),
      transport: (opts) => (transport = this.options.transport(opts)),
      logger: this.options.logger,
    };
    const agent = await createAgent({
      deviceId: this.id, deviceType: this.type, recipientPublicKey: this.options.recipientPublicKey, registry: this.options.registry ?? registryFor(this.type),
    }, ports);
    this.transport = transport;
    agent.onStored((records) => this.options.hooks.onStored(this, records));
    await agent.start();
    this.agent = agent;
    return agent;
  }

  /** Power cut: timers and storage stop dead, the socket dies without DISCONNECT, unsynced bytes are lost (torn). */
  async powerOff(tornRandom: () => number): Promise<void> {
    this.gate?.cut();
    const transport = this.transport;
    this.agent = undefined;
    this.transport = undefined;
    this.storage.crash({ tornTail: true, random: tornRandom });
    if (transport !== undefined) {
      transport.dropLink();
      await transport.close().catch(() => undefined);
    }
  }

  /** Timers of the current boot not yet fired nor cleared. */
  pendingTimers(): number {
    return this.gate?.pending ?? 0;
  }

  /** Whether a timer of the current boot is due at or before this monotonic instant. */
  hasTimerDueAt(monotonicMs: number): boolean {
    return this.gate?.hasTimerDueAt(monotonicMs) ?? false;
  }

  /** Orderly shutdown at the end of the run. */
  async shutdown(): Promise<void> {
    const agent = this.agent;
    if (agent === undefined) return;
    await agent.stop().catch(() => undefined);
  }
}
