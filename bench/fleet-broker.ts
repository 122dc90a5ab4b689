/**
 * The fleet bench's broker: Mosquitto over TLS on loopback when installed (its own process, so its CPU and
 * memory are read from /proc), else the embedded Aedes broker in this process. Always stopped and its temporary
 * directory removed by `stop()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestPki } from '../test/helpers/tls.js';
import { freePort, waitForPort } from '../test/helpers/net.js';
import { startEmbeddedBroker } from '../simulator/broker.js';

export interface FleetBroker {
  kind: string;
  url: string;
  caPem: string;
  /** CPU seconds the broker process used so far (undefined when it runs inside this process). */
  cpuSeconds(): number | undefined;
  rssBytes(): number | undefined;
  /** Warnings and errors the broker logged (tail). */
  log(): string;
  stop(): Promise<void>;
  /** Synchronous last resort for a signal handler: kill the broker process and remove its files. */
  kill(): void;
}

const MOSQUITTO_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

function findMosquitto(): string | undefined {
  const pinned = process.env.MOSQUITTO_BIN;
  const candidates = pinned !== undefined && pinned !== '' ? [pinned] : MOSQUITTO_DIRS.map((dir) => join(dir, 'mosquitto'));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export async function startFleetBroker(): Promise<FleetBroker> {
  const executable = process.env.FLEET_BROKER === 'aedes' ? undefined : findMosquitto();
  if (executable === undefined) return startAedes();
  return startMosquitto(executable);
}

async function startAedes(): Promise<FleetBroker> {
  const broker = await startEmbeddedBroker({ tls: true });
  return {
    kind: 'Aedes 1.2 (embedded, in the bench process), TLS',
    url: broker.url,
    caPem: broker.caPem,
    cpuSeconds: () => undefined,
    rssBytes: () => undefined,
    log: () => '',
    stop: () => broker.close(),
    kill: () => undefined,
  };
}

async function startMosquitto(executable: string): Promise<FleetBroker> {
  // `mosquitto -h` prints the version and exits with 3.
  const version = spawnSync(executable, ['-h'], { encoding: 'utf8' }).stdout.split('\n')[0]?.replace(/^mosquitto version /, '') ?? '?';
  // A throwaway CA and server certificate; the directory is readable by the user Mosquitto drops to.
  const dir = createTestPki('fleet').dir;
  const port = await freePort();
  const configFile = join(dir, 'mosquitto.conf');
  writeFileSync(configFile, mosquittoConfig(dir, port));
  chmodSync(configFile, 0o644);
  let logText = '';
  const child: ChildProcess = spawn(executable, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (logText = (logText + chunk).slice(-4_000)));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`mosquitto exited with ${code}: ${logText}`))));
  exited.catch(() => undefined);
  try {
    await Promise.race([waitForPort(port, 10_000), exited]);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const stat = (): string[] | undefined => {
    try {
      return readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ');
    } catch {
      return undefined;
    }
  };
  return {
    kind: `Mosquitto ${version} (own process), TLS`,
    url: `mqtts://127.0.0.1:${port}`,
    caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    cpuSeconds() {
      // Fields 14 and 15 of /proc/PID/stat (utime, stime) are 11 and 12 after the command name.
      const fields = stat();
      return fields === undefined ? undefined : (Number(fields[11]) + Number(fields[12])) / 100;
    },
    rssBytes() {
      const fields = stat();
      return fields === undefined ? undefined : Number(fields[21]) * 4096;
    },
    log: () => logText,
    kill() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function mosquittoConfig(dir: string, port: number): string {
  return [
    'per_listener_settings false',
    'allow_anonymous true',
    'persistence false',
    'max_connections -1',
    // Mosquitto's default of 1,000 queued messages would silently drop QoS 1 for a collector that falls behind.
    'max_queued_messages 10000000',
    'max_inflight_messages 1000',
    'set_tcp_nodelay true',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    `listener ${port} 127.0.0.1`,
    `cafile ${join(dir, 'ca.pem')}`,
    `certfile ${join(dir, 'server.pem')}`,
    `keyfile ${join(dir, 'server.key')}`,
    '',
  ].join('\n');
}



