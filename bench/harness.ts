/**
 * Tiny benchmark harness. Every figure is printed next to a floor measured in the same run, as a ratio, so
 * numbers from different machines or loads stay comparable. No timing is ever asserted.
 */
export interface Measurement {
  name: string;
  perOpMicros: number;
  ops: number;
}

export function measure(name: string, fn: () => void, minMillis = 300): Measurement {
  for (let i = 0; i < 200; i++) fn(); // warm up the JIT
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMillis) {
    for (let i = 0; i < 100; i++) fn();
    ops += 100;
    elapsed = performance.now() - start;
  }
  return { name, perOpMicros: (elapsed * 1000) / ops, ops };
}

export async function measureAsync(name: string, fn: () => Promise<void>, minMillis = 300): Promise<Measurement> {
  for (let i = 0; i < 20; i++) await fn();
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMillis) {
    await fn();
    ops += 1;
    elapsed = performance.now() - start;
  }
  return { name, perOpMicros: (elapsed * 1000) / ops, ops };
}

export function printRatio(label: string, subject: Measurement, floor: Measurement, target?: number): void {
  const ratio = subject.perOpMicros / floor.perOpMicros;
  const verdict = target === undefined ? '' : ratio <= target ? `  (target <= ${target}x: met)` : `  (target <= ${target}x: MISSED)`;
  console.log(`${label}`);
  console.log(`  ${subject.name.padEnd(44)} ${fmt(subject.perOpMicros)} µs/op`);
  console.log(`  ${('floor: ' + floor.name).padEnd(44)} ${fmt(floor.perOpMicros)} µs/op`);
  console.log(`  ratio ${ratio.toFixed(2)}x${verdict}`);
}

export function printLine(label: string, value: string): void {
  console.log(`  ${label.padEnd(44)} ${value}`);
}

function fmt(micros: number): string {
  return micros >= 100 ? micros.toFixed(0) : micros.toFixed(2);
}
