import type { RecordBody } from './frames.js';

/**
 * Plaintext of records appended but not yet acknowledged, so the publish path does not read back and decrypt what
 * it wrote a moment ago. Bounded; a miss falls back to the sealed segment. It is dropped wholesale whenever a part
 * is removed or a category rewritten, so withdrawn or expired data never lingers here: it is a cache of the queue,
 * never a second copy of the store.
 */
export class Outbox {
  private readonly bodies = new Map<number, RecordBody>();

  constructor(private readonly capacity = 1024) {}

  remember(body: RecordBody): void {
    if (body.transmit && this.bodies.size < this.capacity) this.bodies.set(body.ord, body);
  }

  get(ord: number): RecordBody | undefined {
    return this.bodies.get(ord);
  }

  forget(ord: number): void {
    this.bodies.delete(ord);
  }

  clear(): void {
    this.bodies.clear();
  }
}
