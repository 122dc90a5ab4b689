import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { freePort, waitForPort } from './net.js';
import { createTestPki } from './tls.js';

export interface MosquittoBroker {
  url: string;
  caPem: string;
  /** The broker's own certificate (for pinning its key, as the browser suite does). */
  serverCertPem: string;
  port: number;
  /** `wss://127.0.0.1:PORT` when started with `websockets: true` (same certificate as the MQTT/TLS listener). */
  wsUrl?: string;
  /** Tail of the broker's own log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
  /** Graceful stop (sessions saved to the persistence file) and start again on the same port. */
  restart(): Promise<void>;
}

const SEARCH_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

/** MOSQUITTO_BIN pins the executable (and lets one check the CI=true failure path by pointing it nowhere). */
export function mosquittoPath(): string | undefined {
  const pinned = process.env.MOSQUITTO_BIN;
  if (pinned !== undefined && pinned !== '') return isExecutable(pinned) ? pinned : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...SEARCH_DIRS].filter((d) => d !== '');
  return dirs.map((dir) => join(dir, 'mosquitto')).find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function mosquittoAvailable(): boolean {
  const path = mosquittoPath();
  return path !== undefined && spawnSync(path, ['-h'], { stdio: 'ignore' }).error === undefined;
}

/**
 * A Mosquitto suite: skipped locally when Mosquitto is missing, but FAILED under CI=true, where a silent
 * skip would hide that the real-broker checks never ran.
 */
export function describeMosquitto(name: string, fn: () => void): void {
  if (mosquittoAvailable()) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      beforeAll(() => {
        throw new Error('Mosquitto is not installed but CI=true: install it (apt-get install mosquitto) so this suite runs');
      });
      it('needs Mosquitto', () => undefined);
    });
  } else {
    describe.skip(`${name} (Mosquitto not installed)`, fn);
  }
}

export async function startMosquitto(options: { tls?: boolean; websockets?: boolean } = {}): Promise<MosquittoBroker> {
  const executable = mosquittoPath();
  if (executable === undefined) throw new Error('mosquitto not found');
  const useTls = options.tls ?? true;
  const pki = createTestPki('mosquitto');
  const persistence = join(pki.dir, 'data');
  mkdirSync(persistence);
  // Written by the broker after it drops from root to the mosquitto user.
  chmodSync(persistence, 0o777);
  const port = await freePort();
  const wsPort = options.websockets === true ? await freePort() : undefined;
  const configFile = join(pki.dir, 'mosquitto.conf');
  writeFileSync(configFile, configText(port, useTls, pki, persistence, wsPort));
  chmodSync(configFile, 0o644);

  let logText = '';
  let child = await launch(executable, configFile, port, (chunk) => (logText = (logText + chunk).slice(-8_000)));

  return {
    url: `${useTls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    caPem: pki.caPem,
    serverCertPem: readFileSync(pki.certFile, 'utf8'),
    port,
    ...(wsPort === undefined ? {} : { wsUrl: `wss://127.0.0.1:${wsPort}` }),
    log: () => logText,
    async stop() {
      await terminate(child);
      pki.remove();
    },
    async restart() {
      await terminate(child);
      child = await launch(executable, configFile, port, (chunk) => (logText = (logText + chunk).slice(-8_000)));
    },
  };
}

function configText(port: number, useTls: boolean, pki: ReturnType<typeof createTestPki>, persistence: string, wsPort?: number): string {
  const tlsFiles = [`cafile ${pki.caFile}`, `certfile ${pki.certFile}`, `keyfile ${pki.keyFile}`];
  return [
    'per_listener_settings false',
    'allow_anonymous true',
    'persistence true',
    `persistence_location ${persistence}/`,
    // Mosquitto's default of 1,000 queued messages silently drops QoS 1 for a slow subscriber.
    'max_queued_messages 100000',
    'max_inflight_messages 100',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    `listener ${port} 127.0.0.1`,
    ...(useTls ? tlsFiles : []),
    // As docs/companion.md shows: Debian's 2.0.11 (libwebsockets) binds all interfaces and starts a websockets
    // listener only beside a plain MQTT one, which is why this is never the only listener.
    ...(wsPort === undefined ? [] : [`listener ${wsPort}`, 'protocol websockets', ...tlsFiles]),
    '',
  ].join('\n');
}

async function launch(executable: string, configFile: string, port: number, onLog: (chunk: string) => void): Promise<ChildProcess> {
  const child = spawn(executable, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.setEncoding('utf8').on('data', onLog);
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`mosquitto exited with ${code}`))));
  exited.catch(() => undefined);
  await Promise.race([waitForPort(port, 10_000), exited]);
  return child;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}



