import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { HELP_OPTION, parseCli } from '../cli/args.js';
import { isTrustError } from '../agent/errors.js';

/** The built bin (npm test builds first), run as a user runs it. */
const BIN = 'dist/cli.js';
const run = promisify(execFile);

async function cli(args: string[], cwd?: string, bin = BIN): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd, timeout: 20_000 });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: e.stdout ?? '', err: e.stderr ?? '' };
  }
}

const options = { key: { type: 'string' }, json: { type: 'boolean' }, tag: { type: 'string', multiple: true }, ...HELP_OPTION } as const;

describe('the shared strict parser', () => {
  it('reads --opt=value and --opt value alike, repeated options and -h', () => {
    const parsed = parseCli(['a', '--key=k1', '--tag', 'x', '--tag=y', '--json', '-h'], options);
    expect(parsed.values).toEqual({ key: 'k1', tag: ['x', 'y'], json: true, help: true });
    expect(parsed.positionals).toEqual(['a']);
  });

  it.each([
    [['--jsno'], 'unknown option --jsno (did you mean --json?)'],
    [['--zzzzzz'], 'unknown option --zzzzzz'],
    [['--key'], '--key needs a value'],
    [['--json=yes'], '--json takes no value'],
    [['a', 'b'], "unexpected argument 'b'"],
  ])('refuses %j with a message naming the option', (argv, message) => {
    let caught: unknown;
    try {
      parseCli(argv, options, { maxPositionals: 1 });
    } catch (error) {
      caught = error;
    }
    expect(isTrustError(caught, 'INVALID_ARGUMENT')).toBe(true);
    expect((caught as Error).message).toBe(message);
  });
});

describe('every trust-agent command line uses it', () => {
  it.each([
    [['audit', 'verify', 'trail.bin', '--key', '00', '--jsno'], 'unknown option --jsno (did you mean --json?)'],
    [['audit', 'label', 'm.json', '--key', '00'], 'unknown option --key'],
    [['simulate', '--sed=5'], 'unknown option --sed (did you mean --seed?)'],
    [['simulate', '--seed=five'], '--seed must be an integer'],
    [['companion', 'get', '--brokr=mqtts://x'], 'unknown option --brokr (did you mean --broker?)'],
    [['--version-of-nothing'], 'unknown option --version-of-nothing'],
    [['simulate', '--shard', '1/3'], '--shard needs --broker URL and --ca FILE'],
    [['simulate', '--shard', '3/3', '--broker', 'mqtts://x:8883', '--ca', 'ca.pem'], '--shard must be i/n with 0 <= i < n'],
    [['simulate', '--shard-wait', '5m'], '--shard-wait only makes sense with --shard'],
    [['report', 'merge', 'a', '--outt', 'x'], 'unknown option --outt (did you mean --out?)'],
    [['report', 'merge'], 'give the shard directories'],
  ])('refuses %j: exit 2, the option named', async (argv, message) => {
    const { code, err } = await cli(argv);
    expect(code).toBe(2);
    expect(err).toContain(message);
  });

  it('accepts simulate --seed=5 (the inline form) like --seed 5', async () => {
    expect((await cli(['simulate', '--seed=5', '--help'])).code).toBe(0);
    expect((await cli(['simulate', '--seed', '5', '--duration=2h', '--help'])).code).toBe(0);
  });

  it.each([[['--help']], [['simulate', '--help']], [['companion', '--help']], [['audit', '--help']], [['audit', 'verify', '-h']], [['report', '--help']], [['report', 'merge', '-h']]])(
    '%j prints usage and exits 0',
    async (argv) => {
      const { code, out } = await cli(argv);
      expect(code).toBe(0);
      expect(out).toMatch(/^trust-agent /);
    },
  );
});

describe('lazy subcommands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-lazy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('no chunk of the CLI imports the optional simulator packages at load time', () => {
    const files = [BIN, ...readdirSync('dist/cli').filter((f) => f.endsWith('.js')).map((f) => join('dist/cli', f))];
    for (const file of files) expect(readFileSync(file, 'utf8')).not.toMatch(/from\s*"(aedes|selfsigned)"/);
  });

  it('trust-agent --help runs with no node_modules at all (the commands load only when used)', async () => {
    expect(existsSync(BIN)).toBe(true);
    cpSync(BIN, join(dir, 'cli.js'));
    cpSync('dist/cli', join(dir, 'cli'), { recursive: true });
    const { code, out } = await cli(['--help'], dir, join(dir, 'cli.js'));
    expect(code).toBe(0);
    expect(out).toContain('Commands:');
  });
});
