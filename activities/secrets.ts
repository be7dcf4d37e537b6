/**
 * Secrets by reference. A definition names a secret as the whole string value `"secret:NAME"`
 * anywhere in a task's params; the activity swaps in the value at call time, so what Temporal
 * records (the params, in the workflow history) only ever holds the name. Values come from the
 * environment variable `NAME`, else from the JSON file `WEFT_SECRETS_FILE` (`{ "NAME": "value" }`),
 * read at each call so a rotated secret is picked up without a restart.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DEFAULT_TENANT } from '../src/shared/tenants.js';
import { ErrorTypes, nonRetryableFailure } from './errors.js';

/** The whole value, nothing around it: `"Bearer secret:X"` is plain text, not a reference. */
const REFERENCE = /^secret:([A-Za-z_][A-Za-z0-9_.-]{0,127})$/;

export interface SecretSources {
  env: Readonly<Record<string, string | undefined>>;
  /** Path of a JSON object of secret values. */
  file?: string | undefined;
}

/** Looks up one secret's value; `undefined` when no source knows it. */
export type SecretLookup = (name: string) => Promise<string | undefined>;
/** A lookup in the secrets of a tenant (`tenant` defaults to the default tenant). */
export type TenantSecretLookup = (name: string, tenant?: string) => Promise<string | undefined>;

/**
 * The engine's own configuration lives in the worker's environment too; a definition must not
 * be able to read it (`secret:DATABASE_URL` would hand its author the database, and
 * `secret:WEFT_CODEC_KEYS` the payload keys), so these names are never secrets.
 */
const RESERVED_ENV =
  /^(WEFT_|TEMPORAL_|OTEL_|NODE_|npm_)|^(DATABASE_URL|REDIS_URL|OPENAI_API_KEY|OPENAI_BASE_URL|PATH|HOME)$/;

export function isReservedSecretName(name: string): boolean {
  return RESERVED_ENV.test(name);
}

export function secretSourcesFromEnv(env: NodeJS.ProcessEnv = process.env): SecretSources {
  return { env, file: env.WEFT_SECRETS_FILE || undefined };
}

const SecretsFile = z.record(
  z.string(),
  z.union([z.string(), z.number()]).transform((v) => String(v)),
);

async function readSecretsFile(path: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw nonRetryableFailure(ErrorTypes.SecretNotFound, `the secrets file ${path} cannot be read (${code})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message may quote the file's content, that is a secret: say only where.
    throw nonRetryableFailure(ErrorTypes.SecretNotFound, `the secrets file ${path} is not valid JSON`);
  }
  const result = SecretsFile.safeParse(parsed);
  if (!result.success) {
    throw nonRetryableFailure(
      ErrorTypes.SecretNotFound,
      `the secrets file ${path} must be a JSON object of string values`,
    );
  }
  return result.data;
}

/**
 * Secrets per tenant. The default tenant's come from the environment (never the reserved
 * names) and the top-level names of the secrets file; another tenant's come only from the
 * secrets file's `"<tenant>/<NAME>"` entries, so no tenant can read another's or the worker's.
 */
export function createSecretLookup(sources: SecretSources): TenantSecretLookup {
  return async (name, tenant = DEFAULT_TENANT) => {
    if (tenant === DEFAULT_TENANT) {
      if (isReservedSecretName(name)) return undefined;
      const fromEnv = sources.env[name];
      if (fromEnv !== undefined) return fromEnv;
    }
    if (!sources.file) return undefined;
    const file = await readSecretsFile(sources.file);
    return tenant === DEFAULT_TENANT ? (name.includes('/') ? undefined : file[name]) : file[`${tenant}/${name}`];
  };
}

/** The name a value refers to, if it is a `secret:NAME` reference. */
export function secretReference(value: unknown): string | undefined {
  return typeof value === 'string' ? REFERENCE.exec(value)?.[1] : undefined;
}

export interface ResolvedParams {
  value: unknown;
  /** The values that were swapped in, for masking. */
  secrets: string[];
}

/**
 * Replaces every `secret:NAME` value inside `value` (objects and arrays are walked). An unknown
 * name fails non-retryably with `SecretNotFound`, naming the secret and never a value.
 */
export async function resolveSecrets(value: unknown, lookup: SecretLookup): Promise<ResolvedParams> {
  const secrets = new Set<string>();
  const walk = async (item: unknown): Promise<unknown> => {
    const name = secretReference(item);
    if (name !== undefined) {
      const secret = await lookup(name);
      if (secret === undefined) {
        throw nonRetryableFailure(
          ErrorTypes.SecretNotFound,
          `secret "${name}" is not defined: set the environment variable ${name} or add it to the WEFT_SECRETS_FILE file`,
          { secret: name },
        );
      }
      secrets.add(secret);
      return secret;
    }
    if (Array.isArray(item)) {
      const out: unknown[] = [];
      for (const element of item) out.push(await walk(element));
      return out;
    }
    if (item && typeof item === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, element] of Object.entries(item)) out[key] = await walk(element);
      return out;
    }
    return item;
  };
  return { value: await walk(value), secrets: [...secrets] };
}
