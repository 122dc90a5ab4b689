import type { AggregateOutput, AggregateRule } from './registry-types.js';
import { cellIndex, roundTo } from './transforms.js';

/** One accumulator per output field of an aggregate. */
interface Accumulator {
  add(data: Record<string, unknown>, at: number): void;
  result(windowEnd: number): number;
}

/** An open aggregation window of one category: [start, end). Holds running totals only, never the readings. */
export class AggregationWindow {
  readings = 0;
  private readonly accumulators: [string, Accumulator][];

  constructor(readonly start: number, readonly end: number, outputs: Record<string, AggregateOutput>) {
    this.accumulators = Object.entries(outputs).map(([name, spec]) => [name, accumulatorFor(spec)]);
  }

  add(data: Record<string, unknown>, at: number): void {
    this.readings += 1;
    for (const [, acc] of this.accumulators) acc.add(data, at);
  }

  result(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, acc] of this.accumulators) out[name] = acc.result(this.end);
    return out;
  }
}

export function windowBounds(rule: AggregateRule, at: number): { start: number; end: number } {
  const start = cellIndex(at - rule.offsetMs, rule.windowMs) * rule.windowMs + rule.offsetMs;
  return { start, end: start + rule.windowMs };
}

function accumulatorFor(spec: AggregateOutput): Accumulator {
  switch (spec.fn) {
    case 'count':
      return countAccumulator(spec.field, spec.equals);
    case 'sum':
    case 'mean':
    case 'min':
    case 'max':
      return numberAccumulator(spec.fn, spec.field, spec.round);
    case 'duration':
      return durationAccumulator(spec.field, spec.equals, spec.maxGapMs, spec.unitMs);
  }
}

function countAccumulator(field: string | undefined, equals: string | number | boolean | undefined): Accumulator {
  let count = 0;
  return {
    add(data) {
      if (field === undefined || equals === undefined || data[field] === equals) count += 1;
    },
    result: () => count,
  };
}

function numberAccumulator(fn: 'sum' | 'mean' | 'min' | 'max', field: string, round: number | undefined): Accumulator {
  let sum = 0;
  let n = 0;
  let min = Infinity;
  let max = -Infinity;
  return {
    add(data) {
      const v = data[field] as number;
      sum += v;
      n += 1;
      if (v < min) min = v;
      if (v > max) max = v;
    },
    result() {
      const value = fn === 'sum' ? sum : fn === 'mean' ? sum / n : fn === 'min' ? min : max;
      return round === undefined ? value : roundTo(value, round);
    },
  };
}

/** Each reading lasts until the next one (or the window end), capped at maxGapMs: a missed sample is not a long stage. */
function durationAccumulator(field: string, equals: string, maxGapMs: number, unitMs: number): Accumulator {
  let total = 0;
  let lastAt: number | undefined;
  let lastMatches = false;
  const credit = (until: number): void => {
    if (lastAt !== undefined && lastMatches) total += Math.min(Math.max(until - lastAt, 0), maxGapMs);
  };
  return {
    add(data, at) {
      credit(at);
      lastAt = at;
      lastMatches = data[field] === equals;
    },
    result(windowEnd) {
      const before = total;
      credit(windowEnd);
      const value = Math.round(total / unitMs);
      total = before;
      return value;
    },
  };
}
