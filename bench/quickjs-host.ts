import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { newQuickJSWASMModule, type QuickJSContext, type QuickJSHandle, type QuickJSRuntime } from 'quickjs-emscripten';
import type { StoragePort } from '../agent/ports/storage.js';

/**
 * A QuickJS "device" for memory measurements: the neutral bundles load as modules 'agent' and 'memory', randomness
 * comes from the host, and the flash lives OUTSIDE the QuickJS heap (a Map in Node reached through host calls), as
 * on a real device where files are on flash and not in RAM. The heap figure is QuickJS's own `memory_used_size`
 * after a forced cycle collection.
 */
export type Flash = Map<string, Uint8Array>;

export interface QuickJSDevice {
  readonly runtime: QuickJSRuntime;
  readonly vm: QuickJSContext;
  /** Evaluates a module script and runs pending jobs until `globalThis.__result` is set (or jobs run out). */
  run(script: string): Record<string, unknown>;
  /**
   * Runs the body of an async function as a plain script (after a module with FLASH_PRELUDE ran): QuickJS never frees
   * an evaluated module, so code run again and again must not be one, or the measured heap grows with every call.
   */
  call(body: string): Record<string, unknown>;
  /** Bytes in use by the QuickJS heap after a cycle collection. */
  heap(): number;
  dispose(): void;
}

const DIR = process.env['QUICKJS_BUNDLE_DIR'] ?? 'dist/standalone';
const BUNDLES = { agent: `${DIR}/agent.js`, memory: `${DIR}/memory.js` };

/** Flash port in QuickJS over the host's Map (hex across the boundary: transient strings only). */
export const FLASH_PRELUDE = `
const flash = {
  read: async (n) => { const h = hostFlash('read', n, ''); return h === '-' ? undefined : A.fromHex(h); },
  writeAtomic: async (n, d) => { hostFlash('write', n, A.toHex(d)); },
  append: async (n, d) => { hostFlash('append', n, A.toHex(d)); },
  sync: async () => undefined,
  truncate: async (n, l) => { hostFlash('truncate', n, String(l)); },
  remove: async (n) => { hostFlash('remove', n, ''); },
  list: async (p) => JSON.parse(hostFlash('list', p, '')),
};
const random = { bytes: (n) => A.fromHex(hostRandomHex(n)) };
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };
const done = (value) => { globalThis.__result = JSON.stringify(value); };
const fail = (error) => { globalThis.__result = JSON.stringify({ error: String(error && error.code || '') + ' ' + String(error && error.message || error) }); };
Object.assign(globalThis, { A, flash, random, quietLogger, done, fail });
`;

export async function newQuickJSDevice(flash: Flash): Promise<QuickJSDevice> {
  // A module of its own per device: disposing a runtime that still holds objects aborts the whole wasm module.
  const QuickJS = await newQuickJSWASMModule();
  const runtime = QuickJS.newRuntime();
  const modules: Record<string, string> = {};
  for (const [name, file] of Object.entries(BUNDLES)) modules[name] = readFileSync(file, 'utf8');
  runtime.setModuleLoader((name) => modules[name] ?? { error: new Error(`no module ${name}`) });
  const vm = runtime.newContext();
  exposeHost(vm, flash);
  // QuickJS frees by reference count at once; cycles wait for its collector, which runs when the heap grows past a
  // threshold. A large short-lived buffer pushes it past that threshold, so the next object allocation collects.
  vm.unwrapResult(vm.evalCode('globalThis.__gc = (n) => { let b = new ArrayBuffer(n); for (let i = 0; i < 4; i++) ({}); b = null; };')).dispose();
  const usage = (): Record<string, number> => {
    const handle = runtime.computeMemoryUsage();
    const value = vm.dump(handle) as Record<string, number>;
    handle.dispose();
    return value;
  };
  const settle = (evaluated: ReturnType<QuickJSContext['evalCode']>): Record<string, unknown> => {
    vm.unwrapResult(evaluated).dispose();
    for (let i = 0; i < 10_000_000 && runtime.hasPendingJob(); i++) vm.unwrapResult(runtime.executePendingJobs()).valueOf();
    const out = vm.getProp(vm.global, '__result');
    const text = vm.dump(out) as unknown;
    out.dispose();
    vm.setProp(vm.global, '__result', vm.undefined);
    if (typeof text !== 'string') throw new Error('the QuickJS script did not finish (no __result)');
    const result = JSON.parse(text) as Record<string, unknown>;
    if (result['error'] !== undefined) throw new Error(`in QuickJS: ${String(result['error'])}`);
    return result;
  };
  return {
    runtime, vm,
    run: (script) => settle(vm.evalCode(script, `main-${Math.random().toString(36).slice(2)}.js`, { type: 'module' })),
    call: (body) => settle(vm.evalCode(`(async () => { ${body} })().then((v) => done(v === undefined ? {} : v), fail);`, 'call.js', { type: 'global' })),
    heap() {
      const before = usage();
      vm.unwrapResult(vm.evalCode(`__gc(${Math.max(1 << 20, (before['malloc_size'] ?? 0) * 2)})`)).dispose();
      return usage()['memory_used_size'] ?? 0;
    },
    // Nothing is freed explicitly: timers of a stopped agent may still hold objects, and the module goes with the device.
    dispose: () => undefined,
  };
}

function exposeHost(vm: QuickJSContext, flash: Flash): void {
  const fns: Record<string, (...args: QuickJSHandle[]) => QuickJSHandle> = {
    hostRandomHex: (n) => vm.newString(Buffer.from(randomFillSync(new Uint8Array(vm.getNumber(n)))).toString('hex')),
    hostFlash: (op, name, arg) => vm.newString(flashOp(flash, vm.getString(op), vm.getString(name), vm.getString(arg))),
  };
  for (const [key, fn] of Object.entries(fns)) {
    const handle = vm.newFunction(key, fn);
    vm.setProp(vm.global, key, handle);
    handle.dispose();
  }
}

function flashOp(flash: Flash, op: string, name: string, arg: string): string {
  const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));
  switch (op) {
    case 'read': {
      const data = flash.get(name);
      return data === undefined ? '-' : Buffer.from(data).toString('hex');
    }
    case 'write':
      flash.set(name, bytes(arg));
      return '';
    case 'append': {
      const old = flash.get(name) ?? new Uint8Array(0);
      const add = bytes(arg);
      const next = new Uint8Array(old.length + add.length);
      next.set(old);
      next.set(add, old.length);
      flash.set(name, next);
      return '';
    }
    case 'truncate':
      flash.set(name, (flash.get(name) ?? new Uint8Array(0)).slice(0, Number(arg)));
      return '';
    case 'remove':
      flash.delete(name);
      return '';
    case 'list':
      return JSON.stringify([...flash.keys()].filter((n) => n.startsWith(name)).sort());
    default:
      throw new Error(`unknown flash op ${op}`);
  }
}

/** The same flash as a StoragePort on the Node side (to fill a device's store quickly before a QuickJS boot). */
export function flashStorage(flash: Flash): StoragePort {
  return {
    read: async (n) => flash.get(n)?.slice(),
    writeAtomic: async (n, d) => void flash.set(n, d.slice()),
    append: async (n, d) => {
      const old = flash.get(n) ?? new Uint8Array(0);
      const next = new Uint8Array(old.length + d.length);
      next.set(old);
      next.set(d, old.length);
      flash.set(n, next);
    },
    sync: async () => undefined,
    truncate: async (n, l) => void flash.set(n, (flash.get(n) ?? new Uint8Array(0)).slice(0, l)),
    remove: async (n) => void flash.delete(n),
    list: async (p) => [...flash.keys()].filter((n) => n.startsWith(p)).sort(),
  };
}
