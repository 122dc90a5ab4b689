import { TrustError } from '../../errors.js';
import type { TransportSecurity } from '../memory/transport.js';

export interface BrokerEndpoint {
  url: string;
  /** PEM of the CA (or self-signed certificate) that must have signed the broker's certificate. */
  ca?: string | Uint8Array;
  /** Plaintext (mqtt://, ws://) or unverified TLS only with this explicit opt-in; logged at every connect. */
  allowInsecureTransport?: boolean;
  /** Verify the broker certificate (default true). Turning it off counts as an insecure transport. */
  rejectUnauthorized?: boolean;
  /** TLS SNI / certificate name to check when the URL's host is not the name on the certificate. */
  servername?: string;
}

export interface CheckedEndpoint {
  url: string;
  /** Scheme, host and port only: safe to log (no user name or password). */
  displayUrl: string;
  tls: boolean;
  security: TransportSecurity;
}

const SECURE_SCHEMES = new Set(['mqtts:', 'wss:']);
const PLAIN_SCHEMES = new Set(['mqtt:', 'ws:']);

/** Refuses a downgrade unless the configuration asks for it by name (R6: TLS on by default). */
export function checkEndpoint(endpoint: BrokerEndpoint): CheckedEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(endpoint.url);
  } catch (cause) {
    throw new TrustError('INVALID_CONFIG', 'broker url is not a valid URL', { cause });
  }
  const tls = SECURE_SCHEMES.has(parsed.protocol);
  if (!tls && !PLAIN_SCHEMES.has(parsed.protocol)) {
    throw new TrustError('INVALID_CONFIG', `unsupported broker scheme ${parsed.protocol} (use mqtts: or wss:)`);
  }
  const displayUrl = `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  const unverified = tls && endpoint.rejectUnauthorized === false;
  const insecureReason = !tls ? `plaintext ${parsed.protocol.slice(0, -1)} transport` : unverified ? 'broker certificate not verified' : undefined;
  if (insecureReason !== undefined && endpoint.allowInsecureTransport !== true) {
    throw new TrustError('INSECURE_TRANSPORT', `${insecureReason} refused; set allowInsecureTransport to accept it`);
  }
  const security: TransportSecurity =
    insecureReason === undefined ? { encrypted: true, peerVerified: true } : { encrypted: tls, peerVerified: false, insecureReason };
  return { url: endpoint.url, displayUrl, tls, security };
}

/** Doubling delay with jitter (half fixed, half random) so a fleet does not reconnect in lockstep. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

const CERTIFICATE_ERRORS = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
]);

/** A short, secret-free reason for a failed connect. */
export function describeConnectError(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && CERTIFICATE_ERRORS.has(code)) return `broker certificate rejected (${code})`;
  if (typeof code === 'string') return `connection failed (${code})`;
  if (typeof code === 'number') return `broker refused the connection (return code ${code})`;
  return error instanceof Error ? `connection failed (${error.message})` : 'connection failed';
}
