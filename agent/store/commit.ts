import type { SchedulerPort } from '../ports/scheduler.js';
import type { StoragePort } from '../ports/storage.js';

/**
 * Makes appended bytes durable. In group mode every writer that arrives while a sync is running (or during the
 * optional gathering delay) shares the next sync: one fsync per file per round, however many writers.
 * The data of a writer is on disk when its `commit()` resolves, in both modes.
 */
export class GroupCommit {
  private dirty = new Set<string>();
  /** The round new writers join; a slot object so a round that starts synchronously can clear exactly itself. */
  private next: { promise?: Promise<void> } | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly storage: StoragePort,
    private readonly mode: 'each' | 'group',
    private readonly delayMs: number,
    private readonly scheduler: SchedulerPort | undefined,
    /** Resolves when the writers queued right now have written: they join this round instead of the next. */
    private readonly settle: () => Promise<unknown> = () => Promise.resolve(),
  ) {}

  /** Call after the bytes of `names` were appended. */
  async commit(names: Iterable<string>): Promise<void> {
    if (this.mode === 'each') {
      for (const name of names) await this.storage.sync(name);
      return;
    }
    for (const name of names) this.dirty.add(name);
    let slot = this.next;
    if (slot === undefined) {
      slot = {};
      this.next = slot;
      slot.promise = this.runRound(slot);
    }
    await slot.promise;
  }

  private async runRound(slot: { promise?: Promise<void> }): Promise<void> {
    if (this.running !== undefined) await this.running.catch(() => undefined);
    if (this.delayMs > 0 && this.scheduler !== undefined) await sleep(this.scheduler, this.delayMs);
    await this.settle();
    // From here on, new writers join the round after this one.
    const names = [...this.dirty];
    this.dirty.clear();
    if (this.next === slot) this.next = undefined;
    const round = (async () => {
      for (const name of names) await this.storage.sync(name);
    })();
    this.running = round;
    try {
      await round;
    } finally {
      if (this.running === round) this.running = undefined;
    }
  }

  /** Forget pending names (their files are gone); writers already waiting still resolve. */
  forget(name: string): void {
    this.dirty.delete(name);
  }
}

function sleep(scheduler: SchedulerPort, ms: number): Promise<void> {
  return new Promise((resolve) => scheduler.setTimeout(resolve, ms));
}

/** One mutating operation at a time: appends, sweeps and rewrites never interleave their file changes. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  /** Settles once every operation queued so far has finished (later ones are not waited for). */
  idle(): Promise<unknown> {
    return this.tail;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
