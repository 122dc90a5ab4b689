import type { DeviceSession } from './session.js';
import type { Vault } from './vault.js';

/** What every screen may use: the stored vault, the open device session, and the shell's feedback. */
export interface App {
  vault: Vault | undefined;
  session: DeviceSession | undefined;
  /** Persist the vault (IndexedDB); errors surface through `say`. */
  save(): Promise<void>;
  /** Announce a result in the page's live region (read out by screen readers). */
  say(text: string, kind?: 'info' | 'error'): void;
  /** A modal confirmation that states what will happen; resolves true only on the confirm button. */
  confirm(heading: string, lines: string[], confirmLabel: string): Promise<boolean>;
  render(): void;
}
