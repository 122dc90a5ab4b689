import { expect } from 'vitest';
import type { Transport, TransportMessage } from '../../agent/ports/transport.js';

/** Shared probes for the broker-backed transport suites (Aedes and Mosquitto run the same checks). */
export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (payload: Uint8Array): string => new TextDecoder().decode(payload);

export function collect(transport: Transport): TransportMessage[] {
  const received: TransportMessage[] = [];
  transport.onMessage((message) => received.push(message));
  return received;
}

export function connectionLog(transport: Transport): boolean[] {
  const events: boolean[] = [];
  transport.onConnection((connected) => events.push(connected));
  return events;
}

/** Polls until `check` passes: waits on a real network, never asserts on how long it took. */
export async function eventually(check: () => void, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

export function expectPlainBytes(payload: Uint8Array): void {
  expect(payload).toBeInstanceOf(Uint8Array);
  expect(Buffer.isBuffer(payload)).toBe(false);
}
