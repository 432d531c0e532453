import { type ServiceInstance, SwitchyardError } from '@switchyard/core';

/** OpenSSL's certificate verification failures, as Node names them, and Node's name check. */
const VERIFICATION_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Alerts by which an instance refused this client's certificate (or its absence). */
const PEER_REJECTED =
  /^ERR_SSL_(TLSV13_ALERT_CERTIFICATE_REQUIRED|(SSLV3|TLSV1)_ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_\w+|DECRYPT_ERROR|ACCESS_DENIED))$/;

/**
 * A TLS handshake with an instance failed on a certificate: the instance's did not verify
 * (unknown CA, wrong name, expired), or the instance refused this client's. A configuration
 * error, not an instance failure: it is thrown at once, not retried on another instance and not
 * counted against the instance (its breaker and outlier detection ignore it). `cause` is Node's
 * error; `code` its code.
 */
export class TlsVerificationError extends SwitchyardError {
  /** Node's code, e.g. `SELF_SIGNED_CERT_IN_CHAIN`, `ERR_TLS_CERT_ALTNAME_INVALID`. */
  readonly code: string;
  /** The name the certificate was checked against; undefined = the instance's host. */
  readonly servername: string | undefined;

  constructor(instance: ServiceInstance, servername: string | undefined, cause: Error & { code: string }) {
    const where = `instance ${instance.id} (${instance.host}:${instance.port})`;
    const detail = PEER_REJECTED.test(cause.code)
      ? `refused this client's certificate (tls.cert / tls.key): ${cause.code}`
      : `failed TLS verification: ${cause.code} (${cause.message}); checked as ${
          servername === undefined ? 'its host name' : `"${servername}"`
        } (see the client's tls option)`;
    super(`${instance.service}: ${where} ${detail}`, {
      service: instance.service,
      instanceId: instance.id,
      cause,
    });
    this.code = cause.code;
    this.servername = servername;
  }

  /** Whether `error` is a certificate failure of a TLS handshake (ours or the instance's). */
  static matches(error: unknown): error is Error & { code: string } {
    const code = (error as { code?: unknown } | null)?.code;
    return (
      error instanceof Error &&
      typeof code === 'string' &&
      (VERIFICATION_CODES.has(code) || PEER_REJECTED.test(code))
    );
  }
}
