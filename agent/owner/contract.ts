/**
 * What the owner channel needs from the rest of the agent. The channel authenticates and sequences requests; the
 * agent (policy engine, store, audit trail) does the work. Every method that changes something must have finished
 * enforcing it when its promise resolves: the channel replies "accepted" right after, and the companion relies on
 * the next reading already obeying the change.
 */
export interface OwnerActions {
  /** The current preferences version; requests carrying `expectedVersion` must match it. */
  preferencesVersion(): number;
  /**
   * Validate and apply a preference patch (the `desired` field, untrusted CBOR). Throws
   * `TrustError('INVALID_PREFERENCE', message naming the field)` and changes nothing when any part is invalid.
   */
  applyPatch(patch: unknown): Promise<{ version: number; enforced: unknown }>;
  /**
   * Consent to the widened terms of a policy update for these categories (`desired`: an array of category names,
   * untrusted). Throws `INVALID_PREFERENCE` naming the entry for anything not pending; nothing changes then. (The
   * retry of a consent a storage fault interrupted succeeds: the agent completes it first, see docs/storage.md.)
   */
  acceptTerms(categories: unknown): Promise<{ version: number; enforced: unknown }>;
  /**
   * A signed, fresh owner request corroborates the device's wall clock (its issuedAt lies within the allowed skew of
   * `wallMs`): retention may re-anchor its trusted time on it (docs/storage.md, clock rule).
   */
  corroborateTime(wallMs: number): void;
  /** The device's self-assessment against the requirement catalogue (CBOR-encodable). */
  selfAssessment(): unknown;
  /** Restore privacy-protective defaults (a new version). */
  reset(): Promise<{ version: number; enforced: unknown }>;
  /** Erase all user data; resolves to the receipt body (CBOR-encodable, no personal values). */
  eraseAll(): Promise<unknown>;
  /** Erase one category; throws `INVALID_PREFERENCE` for an unknown category. Resolves to the receipt body. */
  eraseCategory(category: string): Promise<unknown>;
  /** Erase one person's data on a shared device (the id arrives sealed to the device key). Resolves to the receipt body. */
  eraseUser(userId: unknown): Promise<unknown>;
  /** The owner's data sealed to `ownerBoxPublicKey` (opened by the companion with the owner box secret key). */
  exportData(ownerBoxPublicKey: Uint8Array): Promise<Uint8Array>;
  /**
   * Erase user data, rotate the device keys and reset preferences. Resolves to the receipt body, which should name
   * the new public keys: the channel signs the receipt with the key the owner knows (the one before rotation).
   * The channel itself clears the owner record afterwards.
   */
  transferOwnership(): Promise<unknown>;
  /** The signed audit trail of privacy decisions, as bytes the companion can verify (format of agent/audit). */
  auditTrail(): Promise<Uint8Array>;
  /** What is enforced now: settings per category, versions, manifest hash, security state. CBOR-encodable. */
  enforcedState(): unknown;
  /** Record a privacy decision of the channel (rejections, pairing). Details hold no personal values. */
  audit(type: string, details: Record<string, string | number | boolean>): Promise<void>;
}
