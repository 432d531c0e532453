import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { describeValue, ValidationError } from '@switchyard/core';

/** A PEM text, as a string or its bytes. */
export type Pem = string | Uint8Array;

/** How the client speaks TLS to `https` (secure) instances. */
export interface InstanceTlsOptions {
  /** CA certificates (PEM) trusted for instances' certificates; default Node's bundled roots. */
  readonly ca?: Pem | readonly Pem[];
  /** This client's certificate (PEM, chain allowed), for instances that require mTLS. */
  readonly cert?: Pem;
  /** The private key of `cert` (PEM, unencrypted). */
  readonly key?: Pem;
  /**
   * The name sent as SNI and checked against the instance's certificate. Default: the service
   * name. A string fixes it (`'users.default.svc'`); `false` checks each instance's own host.
   */
  readonly servername?: string | false;
  /** Refuse instances whose certificate does not verify; default true. */
  readonly rejectUnauthorized?: boolean;
}

/** One `tls` setting made ready: its secure context is built once and shared by every pool. */
export interface InstanceTlsProfile {
  /** Tells profiles apart in pool keys: two services with different CAs never share a pool. */
  readonly id: number;
  readonly secureContext: SecureContext;
  readonly rejectUnauthorized: boolean;
  /** `undefined`: the service name. */
  readonly servername: string | false | undefined;
}

// An SNI name is a DNS name: letters, digits, '-', '_' and dots, at most 253 characters.
const SERVERNAME = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;

/**
 * Checks a `tls` option and builds its secure context, so that a malformed PEM, a key that does
 * not match its certificate or a typo fails when the client is created, not on the first call.
 * Errors name the field but never echo a key or certificate.
 */
export function resolveInstanceTls(options: unknown, field: string, id: number): InstanceTlsProfile {
  const tls = checkInstanceTls(options, field);
  if (tls.ca !== undefined) {
    if (!Array.isArray(tls.ca)) checkCertificates(tls.ca as Pem, `${field}.ca`);
    else for (const [i, pem] of tls.ca.entries()) checkCertificates(pem, `${field}.ca[${i}]`);
  }
  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key } as SecureContextOptions);
  } catch (error) {
    // OpenSSL's message says what is wrong (bad PEM, key mismatch) without the material itself.
    const message = error instanceof Error ? error.message : String(error);
    throw new ValidationError(field, `could not load the certificates or key: ${message}`);
  }
  return {
    id,
    secureContext,
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    servername: tls.servername,
  };
}

/** Checks the shape of a `tls` option (types, PEM markers, cert with key, the name). */
export function checkInstanceTls(options: unknown, field: string): InstanceTlsOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ValidationError(field, `expected an object, got ${describeValue(options)}`);
  }
  const tls = options as InstanceTlsOptions;
  const ca = tls.ca;
  if (ca !== undefined) {
    if (!Array.isArray(ca)) checkPem(ca, `${field}.ca`);
    else if (ca.length === 0) throw new ValidationError(`${field}.ca`, 'expected at least one certificate');
    else for (const [i, pem] of ca.entries()) checkPem(pem, `${field}.ca[${i}]`);
  }
  if (tls.cert !== undefined) checkPem(tls.cert, `${field}.cert`);
  if (tls.key !== undefined) checkPem(tls.key, `${field}.key`);
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    const missing = tls.cert === undefined ? 'cert' : 'key';
    throw new ValidationError(`${field}.${missing}`, 'a client certificate needs both cert and key');
  }
  const servername = tls.servername;
  if (
    servername !== undefined &&
    servername !== false &&
    (typeof servername !== 'string' || !SERVERNAME.test(servername) || servername.length > 253)
  ) {
    throw new ValidationError(
      `${field}.servername`,
      `expected a DNS name or false, got ${describeValue(servername)}`,
    );
  }
  if (typeof servername === 'string' && isIP(servername)) {
    // SNI cannot carry an address; with `false` an instance's IP is checked against its certificate.
    throw new ValidationError(`${field}.servername`, 'an IP address cannot be sent as SNI: use false');
  }
  const reject = tls.rejectUnauthorized;
  if (reject !== undefined && typeof reject !== 'boolean') {
    throw new ValidationError(
      `${field}.rejectUnauthorized`,
      `expected a boolean, got ${describeValue(reject)}`,
    );
  }
  return tls;
}

/** The name an instance of `service` is verified against under `profile`; undefined = its host. */
export function servernameFor(profile: InstanceTlsProfile, service: string): string | undefined {
  if (profile.servername === false) return undefined;
  if (profile.servername !== undefined) return profile.servername;
  // A service named like an address cannot be SNI: its instances are checked by host instead.
  return isIP(service) ? undefined : service;
}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Node silently skips a CA it cannot parse (and then trusts nothing): parse each one here. */
function checkCertificates(pem: Pem, field: string): void {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('latin1');
  const blocks = text.match(CERTIFICATE);
  if (blocks === null)
    throw new ValidationError(field, 'expected PEM certificates (-----BEGIN CERTIFICATE-----)');
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ValidationError(field, `certificate ${i + 1} of ${blocks.length} does not parse: ${message}`);
    }
  }
}

function checkPem(value: unknown, field: string): void {
  if (typeof value === 'string') {
    if (!value.includes('-----BEGIN ')) {
      throw new ValidationError(field, 'expected PEM text (-----BEGIN …), not a file name or DER');
    }
    return;
  }
  if (!(value instanceof Uint8Array)) {
    throw new ValidationError(field, `expected a PEM string or Buffer, got ${describeValue(value)}`);
  }
}
