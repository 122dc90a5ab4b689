// trust-agent: one binary, one subcommand per audience. Subcommands load lazily so `--help` stays instant.
import { HELP_OPTION, parseCli } from './args.js';

const USAGE = `trust-agent <command> [options]

Commands:
  simulate [scenario]        run the QA simulator: a library scenario by name (--list) or a .json file; --shard I/N
                             runs one slice of a fleet against an external broker
  report merge DIR...        judge a sharded simulation: merge the shards' evidence into one report
  companion <action>         the owner's companion: pair, manifest, label, get, set, consent, watch, erase, export,
                             transfer, audit, report, verify-receipt; serve (the web app)
  audit <action>             verify an exported audit trail; render a self-assessment or a privacy label
  keys [kind]                provisioning keys: the collector's key pair, the vendor's trust root, a signed collector
                             key rotation (secret key files with mode 0600)

Run 'trust-agent <command> --help' for the options of a command.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'simulate':
      return (await import('../simulator/cli.js')).runSimulateCli(rest);
    case 'companion':
      return (await import('../companion/cli.js')).runCompanionCli(rest);
    case 'audit':
      return (await import('./audit.js')).runAuditCli(rest);
    case 'report':
      return (await import('./report.js')).runReportCli(rest);
    case 'keys':
      return (await import('./keys.js')).runKeysCli(rest);
    case undefined:
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      if (command.startsWith('-')) return globalOptions(argv);
      process.stderr.write(`trust-agent: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

/** Before a command only --help is known; anything else is refused by the same strict parser as the commands. */
function globalOptions(argv: string[]): number {
  try {
    parseCli(argv, HELP_OPTION, { maxPositionals: 0 });
  } catch (error) {
    process.stderr.write(`trust-agent: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  process.stdout.write(USAGE);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const err = error as { code?: string; message?: string };
    process.stderr.write(`trust-agent: ${err.code ? `[${err.code}] ` : ''}${err.message ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
