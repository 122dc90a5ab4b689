import { createInterface } from 'node:readline/promises';
import { TrustError } from '../agent/errors.js';

/** What each destructive request does, in the words the confirmation shows (and --help repeats). */
export function destructiveWarning(action: string, flags: Record<string, string>): string | undefined {
  switch (action) {
    case 'erase':
      if (flags['user'] !== undefined) return `This erases every reading on the device that names '${flags['user']}' (also in pseudonymised form). Other data and your preferences stay.`;
      if (flags['category'] !== undefined) return `This erases every stored reading of '${flags['category']}' on the device, including its send queue. Your preferences stay.`;
      return 'This erases ALL data on the device, including its send queue, and destroys the keys that protected it. Your preferences are RESET to the privacy-protective defaults (non-essential data off).';
    case 'transfer':
      return 'This hands the device over: it erases all data, replaces its keys, resets preferences and FORGETS YOU as its owner. You cannot change it afterwards.';
    case 'reset':
      return 'This resets every preference to the privacy-protective defaults (non-essential data off).';
    default:
      return undefined;
  }
}

/**
 * Destructive requests need a yes: `--yes` (for scripts), or typing "yes" at a terminal. Without a terminal and
 * without --yes it refuses (a usage error), so a script never erases by accident.
 */
export async function confirmDestructive(action: string, flags: Record<string, string>, yes: boolean, err: (text: string) => void): Promise<void> {
  const warning = destructiveWarning(action, flags);
  if (warning === undefined || yes) return;
  if (process.stdin.isTTY !== true || process.stderr.isTTY !== true) {
    throw new TrustError('INVALID_ARGUMENT', `${warning} Pass --yes to confirm (no terminal to ask on).`);
  }
  err(`${warning}\n`);
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`Type "yes" to ${action}: `);
    if (answer.trim().toLowerCase() !== 'yes') throw new TrustError('INVALID_ARGUMENT', `${action} not confirmed: nothing was sent`);
  } finally {
    prompt.close();
  }
}
