import type { SecurityState } from './audit/index.js';
import type { GateOutput } from './policy/index.js';

/**
 * R14 safe mode. While the set-up is insecure for any reason other than "no owner yet" (the first-run gate already
 * narrows an unpaired device to essential data), the agent collects essential data only: when in doubt, data is
 * dropped, not sent. Re-evaluated at every self-check (start, every connect, pairing, transfer).
 */
export class SafeMode {
  private reasons: string[] = [];
  dropped = 0;

  get active(): boolean {
    return this.reasons.length > 0;
  }

  update(security: SecurityState): void {
    this.reasons = safeModeReasons(security);
  }

  filter(outputs: GateOutput[]): GateOutput[] {
    if (!this.active) return outputs;
    const kept = outputs.filter((output) => output.essential);
    this.dropped += outputs.length - kept.length;
    return kept;
  }
}

export function safeModeReasons(security: SecurityState): string[] {
  return security.codes.filter((code) => code !== 'owner-not-paired');
}
