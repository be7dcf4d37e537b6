/**
 * TLS (and mTLS) from weft's processes to the Temporal frontend, read from the environment once
 * at start-up. Without any of the variables the connection stays plaintext, which suits the local
 * dev server. The files are read and parsed here, so a wrong path or a certificate that does not
 * belong to its key fails the start with the variable named, instead of surfacing later as an
 * opaque handshake error on every call.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';

export type { TLSConfig };

/** Every variable read here; `TEMPORAL_TLS` switches, the others configure (and imply TLS). */
export const TLS_VARIABLES = [
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CA',
  'TEMPORAL_TLS_CERT',
  'TEMPORAL_TLS_KEY',
  'TEMPORAL_TLS_SERVER_NAME',
] as const;

type TlsVariable = (typeof TLS_VARIABLES)[number];

/** An empty value counts as unset, as it does for the other optional variables. */
function value(env: NodeJS.ProcessEnv, name: TlsVariable): string | undefined {
  const text = env[name];
  return text === undefined || text === '' ? undefined : text;
}

function readPem(name: TlsVariable, path: string): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (err) {
    throw new Error(`${name}: cannot read ${JSON.stringify(path)} (${(err as Error).message})`, {
      cause: err,
    });
  }
  if (!content.includes('-----BEGIN ')) {
    throw new Error(`${name}: expected a PEM file ("-----BEGIN …" blocks), ${JSON.stringify(path)} is not one`);
  }
  return content;
}

function certificate(name: TlsVariable, path: string): { pem: Buffer; parsed: X509Certificate } {
  const pem = readPem(name, path);
  try {
    // Parses the first certificate of the file; enough to catch a key or garbage in its place.
    return { pem, parsed: new X509Certificate(pem) };
  } catch (err) {
    throw new Error(`${name}: expected a PEM certificate in ${JSON.stringify(path)} (${(err as Error).message})`, {
      cause: err,
    });
  }
}

function privateKey(path: string, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new Error(
      `TEMPORAL_TLS_KEY: expected an unencrypted PEM private key in ${JSON.stringify(path)} (${(err as Error).message})`,
      { cause: err },
    );
  }
}

/**
 * Reads `TEMPORAL_TLS`, `TEMPORAL_TLS_CA`, `TEMPORAL_TLS_CERT`, `TEMPORAL_TLS_KEY` and
 * `TEMPORAL_TLS_SERVER_NAME`. Returns undefined (plaintext) when none is set; `{}` for
 * `TEMPORAL_TLS=true` alone (TLS, server verified against the system CAs). Any of the other
 * variables turns TLS on by itself. Throws naming the variable when a value is unusable.
 */
export function temporalTlsFromEnv(env: NodeJS.ProcessEnv): TLSConfig | undefined {
  const enabled = value(env, 'TEMPORAL_TLS');
  if (enabled !== undefined && enabled !== 'true' && enabled !== 'false') {
    throw new Error(`TEMPORAL_TLS: expected "true" or "false", got ${JSON.stringify(enabled)}`);
  }
  const ca = value(env, 'TEMPORAL_TLS_CA');
  const cert = value(env, 'TEMPORAL_TLS_CERT');
  const key = value(env, 'TEMPORAL_TLS_KEY');
  const serverName = value(env, 'TEMPORAL_TLS_SERVER_NAME');
  const settings = TLS_VARIABLES.filter((name) => name !== 'TEMPORAL_TLS' && value(env, name) !== undefined);
  if (enabled === 'false') {
    // Silently dropping a CA or a client certificate would downgrade to plaintext: refuse instead.
    if (settings.length > 0) throw new Error(`TEMPORAL_TLS: is "false" but ${settings.join(', ')} ask for TLS`);
    return undefined;
  }
  if (enabled === undefined && settings.length === 0) return undefined;
  if ((cert === undefined) !== (key === undefined)) {
    const [given, missing] =
      cert === undefined ? ['TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CERT'] : ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY'];
    throw new Error(`${missing}: required with ${given} (a client certificate and its key go together for mTLS)`);
  }
  const tls: TLSConfig = {};
  if (ca !== undefined) tls.serverRootCACertificate = certificate('TEMPORAL_TLS_CA', ca).pem;
  if (cert !== undefined && key !== undefined) {
    const crt = certificate('TEMPORAL_TLS_CERT', cert);
    const keyPem = readPem('TEMPORAL_TLS_KEY', key);
    if (!crt.parsed.checkPrivateKey(privateKey(key, keyPem))) {
      throw new Error(
        `TEMPORAL_TLS_KEY: the key in ${JSON.stringify(key)} does not belong to the certificate in TEMPORAL_TLS_CERT`,
      );
    }
    tls.clientCertPair = { crt: crt.pem, key: keyPem };
  }
  if (serverName !== undefined) tls.serverNameOverride = serverName;
  return tls;
}
