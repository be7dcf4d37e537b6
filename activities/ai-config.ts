/**
 * Configuration of AI steps: the OpenAI-compatible endpoint, model aliases and the price table.
 * Read once when the worker builds its activities, so a malformed JSON variable stops the
 * worker at start instead of failing runs later.
 */
import { z } from 'zod';

const Price = z.strictObject({
  /** USD per million input (prompt) tokens. */
  input_per_1m: z.number().nonnegative(),
  /** USD per million output (completion) tokens. */
  output_per_1m: z.number().nonnegative(),
});
export type Price = z.output<typeof Price>;

export interface AiConfig {
  /** `OPENAI_BASE_URL`; the OpenAI API when absent. */
  baseURL?: string | undefined;
  /** `OPENAI_API_KEY`; may be absent for a local endpoint that needs none. */
  apiKey?: string | undefined;
  /** `WEFT_AI_MODELS`: alias → real model name. */
  models?: Record<string, string>;
  /** `WEFT_AI_PRICES`: model → price per million tokens. */
  prices?: Record<string, Price>;
  /** Per-request timeout of the HTTP call, in ms (`WEFT_AI_TIMEOUT`, default 10 min). */
  timeoutMs?: number;
}

function parseJsonVariable<T>(env: NodeJS.ProcessEnv, name: string, schema: z.ZodType<T>, fallback: T): T {
  const raw = env[name];
  if (!raw) return fallback;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new Error(`invalid configuration: ${name} is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${[name, ...i.path].join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

/** Reads the AI settings from the environment; throws naming the variable when one is malformed. */
export function aiConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AiConfig {
  const timeout = env.WEFT_AI_TIMEOUT ? Number(env.WEFT_AI_TIMEOUT) : undefined;
  if (timeout !== undefined && !(timeout > 0)) {
    throw new Error('invalid configuration: WEFT_AI_TIMEOUT must be a number of milliseconds');
  }
  return {
    baseURL: env.OPENAI_BASE_URL || undefined,
    apiKey: env.OPENAI_API_KEY || undefined,
    models: parseJsonVariable(env, 'WEFT_AI_MODELS', z.record(z.string(), z.string().min(1)), {}),
    prices: parseJsonVariable(env, 'WEFT_AI_PRICES', z.record(z.string(), Price), {}),
    timeoutMs: timeout,
  };
}

/** Cost in USD of a call, from a price per million tokens; rounded to 1e-10 to drop float noise. */
export function costUsd(price: Price, inputTokens: number, outputTokens: number): number {
  const usd = (inputTokens * price.input_per_1m + outputTokens * price.output_per_1m) / 1_000_000;
  return Math.round(usd * 1e10) / 1e10;
}
