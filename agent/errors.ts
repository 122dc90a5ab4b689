/**
 * The single error class of iot-trust-agent. Every failure the agent reports carries a stable `code`
 * that callers (and rejection replies on the wire) can switch on; `message` is for people and never
 * contains key material or personal values.
 */
export type TrustErrorCode =
  | 'NO_ENTROPY'
  | 'WEAK_KEY'
  | 'INVALID_ARGUMENT'
  | 'INVALID_CONFIG'
  | 'MALFORMED'
  | 'OVERSIZED'
  | 'UNSUPPORTED_VERSION'
  | 'UNKNOWN_ALGORITHM'
  | 'UNKNOWN_KEY'
  | 'AUTH_FAILED'
  | 'HEADER_MISMATCH'
  | 'BAD_SIGNATURE'
  | 'REPLAY'
  | 'NONCE_REUSE'
  | 'UNKNOWN_CATEGORY'
  | 'EXPIRED'
  | 'VERSION_CONFLICT'
  | 'INSECURE_TRANSPORT'
  | 'NOT_OWNER'
  | 'NOT_PAIRED'
  | 'ALREADY_PAIRED'
  | 'PAIRING_CLOSED'
  | 'WRONG_DEVICE'
  | 'RATE_LIMITED'
  | 'INVALID_REGISTRY'
  | 'INVALID_PREFERENCE'
  | 'INVALID_READING'
  | 'STORAGE'
  | 'CORRUPT'
  | 'STORE_FULL'
  | 'NOT_STARTED'
  | 'CLOSED'
  | 'TRANSPORT';

export class TrustError extends Error {
  readonly code: TrustErrorCode;

  constructor(code: TrustErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    // Minifiers rename classes; a fixed name keeps logs and `instanceof`-free checks readable.
    this.name = 'TrustError';
    this.code = code;
  }
}

export function isTrustError(value: unknown, code?: TrustErrorCode): value is TrustError {
  return value instanceof TrustError && (code === undefined || value.code === code);
}

/** Argument guard in the noble style: names the parameter that is wrong. */
export function assertBytes(value: unknown, name: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TrustError('INVALID_ARGUMENT', `${name} must be a Uint8Array`);
  }
  if (length !== undefined && value.length !== length) {
    throw new TrustError('INVALID_ARGUMENT', `${name} must be ${length} bytes, got ${value.length}`);
  }
}

export function assertString(value: unknown, name: string, maxLength = 256): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new TrustError('INVALID_ARGUMENT', `${name} must be a non-empty string of at most ${maxLength} characters`);
  }
}
