/**
 * The AI step activity: one chat completion against an OpenAI-compatible endpoint, its answer
 * mapped by `output_mapping`, its tokens priced.
 *
 * Repair is built on Temporal's own retries: an answer that fails the mapping is heartbeated
 * (answer and errors) and the attempt fails with a retryable `InvalidModelOutput`; the next
 * attempt reads the heartbeat and sends the conversation back with a repair instruction. After
 * `max_repairs` repairs the failure is non-retryable. So every request is an attempt in the
 * Web UI, and a worker crash mid-repair resumes where it was.
 */
import { Context } from '@temporalio/activity';
import { whileBeating } from './heartbeat.js';
import { ApplicationFailure } from '@temporalio/common';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletion, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { AiRequest, AiResult } from './ai-types.js';
import { costUsd, type AiConfig, type Price } from './ai-config.js';
import { DEFAULT_AI_PRICES, priceOf } from './ai-prices.js';
import { compileOutputMapping, mapAnswer, repairInstruction, type OutputMapping } from './ai-output.js';
import { ErrorTypes, nonRetryableFailure, retryableFailure, withAttempt } from './errors.js';
import { retryDelayFromHeaders } from './retry-after.js';
import type { Agent } from 'undici-types';
import type { EgressGuard } from './egress.js';
import { pinnedAgent } from './connectors/http.js';

const DEFAULT_MAX_REPAIRS = 2;
/** A repair needs no backoff: the model answered, it just answered wrongly. */
const REPAIR_RETRY_DELAY_MS = 100;
const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** Enough of an invalid answer to see what went wrong, without bloating the history. */
const ANSWER_IN_DETAILS = 4_000;

const Request = z.object({
  node: z.string().min(1),
  model: z.string().min(1),
  system: z.string().optional(),
  prompt: z.string(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  output_mapping: z.record(z.string(), z.unknown()).optional(),
  max_repairs: z.number().int().min(0).max(10).optional(),
  budgeted: z.boolean().optional(),
  connection: z.string().optional(),
});

/** The chat completion parameters a definition may set; anything else is refused. */
const Parameters = z.strictObject({
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_tokens: z.number().int().positive().optional(),
  max_completion_tokens: z.number().int().positive().optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).optional(),
  seed: z.number().int().optional(),
  logit_bias: z.record(z.string(), z.number()).optional(),
  reasoning_effort: z.enum(['minimal', 'low', 'medium', 'high']).optional(),
  user: z.string().optional(),
});

const Usage = z.object({ input_tokens: z.number(), output_tokens: z.number() });
type Usage = z.output<typeof Usage>;

/** What a failed attempt leaves, through its heartbeat, for the attempt that repairs it. */
const RepairState = z.object({
  invalid: z.array(z.object({ answer: z.string(), errors: z.array(z.string()) })),
  usage: Usage,
});
type RepairState = z.output<typeof RepairState>;

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${[what, ...i.path].join('.')}: ${i.message}`).join('; ');
  throw nonRetryableFailure(ErrorTypes.InvalidParams, problems);
}

function conversation(request: z.output<typeof Request>, state: RepairState, mapping: OutputMapping) {
  const messages: ChatCompletionMessageParam[] = [];
  if (request.system) messages.push({ role: 'system', content: request.system });
  messages.push({ role: 'user', content: request.prompt });
  for (const { answer, errors } of state.invalid) {
    messages.push({ role: 'assistant', content: answer });
    messages.push({ role: 'user', content: repairInstruction(errors, mapping) });
  }
  return messages;
}

/** Structured-output names allow `[A-Za-z0-9_-]{1,64}`; node ids almost fit already. */
function schemaName(node: string): string {
  return node.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'output';
}

/** The endpoint a failure names: origin and path of the base URL, never its credentials or query. */
export function aiEndpoint(baseURL: string | undefined): string {
  if (!baseURL) return 'https://api.openai.com/v1';
  try {
    const url = new URL(baseURL);
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return 'the configured OPENAI_BASE_URL';
  }
}

/**
 * An `ai` connection, resolved for the run's tenant by the activity: where to call, with which
 * key (never put into an input, a result, a heartbeat or a log), and the tenant's egress policy.
 */
export interface AiEndpoint {
  /** The connection's name (failures name it). */
  name: string;
  /** Per tenant, name and version: a rotated connection gets a new client. */
  key: string;
  baseURL: string;
  apiKey: string;
  organization?: string;
  egress: EgressGuard;
}

/**
 * `fetch` under the egress policy: every request's host is resolved and checked (EgressDenied
 * when refused) and connected to at a checked address, as the http connector does; redirects
 * are not followed (the endpoint's URLs never redirect, and a redirect could leave the policy).
 */
function egressFetch(egress: EgressGuard): typeof fetch {
  // One agent (keep-alive sockets) while the checked addresses stay the same; a new one when they change.
  let pinned: { addresses: string; agent: Agent } | undefined;
  return async (input, init) => {
    const url = new URL(input instanceof globalThis.Request ? input.url : String(input));
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const resolution = await egress.resolve({ host: url.hostname, port, url });
    const addresses = JSON.stringify([resolution.host, resolution.port, resolution.addresses]);
    if (pinned?.addresses !== addresses) {
      // Closing waits for the requests still using the old agent.
      void pinned?.agent.close().catch(() => undefined);
      pinned = { addresses, agent: await pinnedAgent(resolution) };
    }
    return fetch(url, { ...init, redirect: 'error', dispatcher: pinned.agent });
  };
}

/** An OpenAI client for an `ai` connection; Temporal owns retries, so the SDK makes none. */
export function connectionClient(endpoint: AiEndpoint, timeoutMs = DEFAULT_TIMEOUT_MS): OpenAI {
  return new OpenAI({
    apiKey: endpoint.apiKey,
    baseURL: endpoint.baseURL,
    ...(endpoint.organization === undefined ? {} : { organization: endpoint.organization }),
    maxRetries: 0,
    timeout: timeoutMs,
    fetch: egressFetch(endpoint.egress),
  });
}

export function modelFailure(caught: unknown, model: string, endpoint: string): unknown {
  // A refusal of the egress policy (or another failure of ours) inside fetch: as it was thrown.
  if (caught instanceof APIConnectionError && caught.cause instanceof ApplicationFailure) return caught.cause;
  if (caught instanceof APIUserAbortError || !(caught instanceof APIError)) return caught;
  // `instanceof` on the generic class narrows to APIError<any, …>; these are its real types.
  const err = caught as APIError;
  const who = model === '' ? endpoint : `model "${model}" at ${endpoint}`;
  if (err instanceof APIConnectionTimeoutError) {
    return retryableFailure(ErrorTypes.Timeout, `${who}: the request timed out`);
  }
  if (err instanceof APIConnectionError) {
    return retryableFailure(ErrorTypes.ConnectionError, `${who}: ${err.message}`);
  }
  const status = err.status ?? 0;
  const message = `${who} answered ${status}: ${err.message}`;
  const details = { status, code: err.code ?? undefined };
  const nextRetryDelay = retryDelayFromHeaders(err.headers);
  // An exhausted quota is a 429 that no amount of waiting fixes.
  if (status === 429 && err.code === 'insufficient_quota') {
    return nonRetryableFailure(ErrorTypes.RateLimited, message, details);
  }
  if (status === 429) return retryableFailure(ErrorTypes.RateLimited, message, details, { nextRetryDelay });
  if (status >= 500 || status === 408 || status === 409) {
    return retryableFailure(ErrorTypes.ModelUnavailable, message, details, { nextRetryDelay });
  }
  return nonRetryableFailure(ErrorTypes.ModelError, message, details);
}

function addUsage(total: Usage, completion: ChatCompletion): Usage {
  return {
    input_tokens: total.input_tokens + (completion.usage?.prompt_tokens ?? 0),
    output_tokens: total.output_tokens + (completion.usage?.completion_tokens ?? 0),
  };
}

/**
 * Builds `runAi` for a worker: one OpenAI client for the worker's endpoint, created on first
 * use, and one per `ai` connection version (the older versions' dropped once a newer is used).
 */
export function createAiActivity(config: AiConfig) {
  let client: OpenAI | undefined;
  const connectionClients = new Map<string, OpenAI>();
  const clientOf = (endpoint: AiEndpoint): OpenAI => {
    let found = connectionClients.get(endpoint.key);
    if (!found) {
      const prefix = endpoint.key.slice(0, endpoint.key.lastIndexOf('#') + 1);
      for (const key of connectionClients.keys()) if (key.startsWith(prefix)) connectionClients.delete(key);
      found = connectionClient(endpoint, config.timeoutMs);
      connectionClients.set(endpoint.key, found);
    }
    return found;
  };
  const unpriced = new Set<string>();
  const prices: Record<string, Price> = { ...DEFAULT_AI_PRICES, ...config.prices };

  const openai = (): OpenAI => {
    if (!config.apiKey && !config.baseURL) {
      throw nonRetryableFailure(
        ErrorTypes.NotConfigured,
        'AI steps need OPENAI_API_KEY (and OPENAI_BASE_URL for an endpoint other than OpenAI)',
      );
    }
    // Temporal owns retries: the SDK's own would hide attempts and ignore the retry policy.
    client ??= new OpenAI({
      apiKey: config.apiKey ?? 'unused',
      baseURL: config.baseURL ?? null,
      maxRetries: 0,
      timeout: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
    return client;
  };

  const priceFor = (model: string, alias: string): Price | undefined =>
    priceOf(prices, model) ?? priceOf(prices, alias);
  /** The call's cost; undefined when the model has no price (it then counts as 0, with a warning). */
  const cost = (model: string, alias: string, usage: Usage): number | undefined => {
    const price = priceFor(model, alias);
    if (price) return costUsd(price, usage.input_tokens, usage.output_tokens);
    if (!unpriced.has(model)) {
      unpriced.add(model);
      Context.current().log.warn(
        `no price for model "${model}" in WEFT_AI_PRICES or the default table: its cost counts as 0`,
      );
    }
    return undefined;
  };
  // A budget cannot hold over calls it cannot count: refused before the model is called.
  const refuseUnpriced = (request: z.output<typeof Request>, model: string): void => {
    if (!request.budgeted || priceFor(model, request.model)) return;
    throw nonRetryableFailure(
      ErrorTypes.UnpricedModel,
      `node "${request.node}": model "${model}" has no price in WEFT_AI_PRICES or the default table, and the run has a budget (options.max_cost_usd): add the model's price to WEFT_AI_PRICES`,
    );
  };

  /** `endpoint`: the `ai` connection the node names, resolved by the caller; else the worker's own. */
  return async function runAi(input: AiRequest, endpoint?: AiEndpoint): Promise<AiResult> {
    const ctx = Context.current();
    const attempt = ctx.info.attempt;
    try {
      const request = parse(Request, input, 'request');
      const parameters = parse(Parameters, request.parameters ?? {}, 'parameters');
      const mapping = compileOutputMapping(request.output_mapping, request.node);
      const model = config.models?.[request.model] ?? request.model;
      refuseUnpriced(request, model);
      const previous = RepairState.safeParse(ctx.info.heartbeatDetails);
      const state: RepairState = previous.success
        ? previous.data
        : { invalid: [], usage: { input_tokens: 0, output_tokens: 0 } };

      let completion: ChatCompletion;
      try {
        // Heartbeats while the model answers, so a cancellation reaches the call; they carry the
        // repair state a previous attempt left, unchanged, for the next attempt to read.
        const client = endpoint ? clientOf(endpoint) : openai();
        completion = await whileBeating(
          ctx,
          () => ctx.info.heartbeatDetails,
          () =>
            client.chat.completions.create(
              {
                ...parameters,
                model,
                messages: conversation(request, state, mapping),
                ...(mapping.kind === 'schema'
                  ? {
                      response_format: {
                        type: 'json_schema',
                        json_schema: { name: schemaName(request.node), schema: mapping.schema, strict: false },
                      },
                    }
                  : {}),
              },
              { signal: ctx.cancellationSignal },
            ),
        );
      } catch (err) {
        throw modelFailure(
          err,
          model,
          endpoint ? `${aiEndpoint(endpoint.baseURL)} via connection "${endpoint.name}"` : aiEndpoint(config.baseURL),
        );
      }

      const answer = completion.choices[0]?.message?.content ?? '';
      const usage = addUsage(state.usage, completion);
      const priced = cost(model, request.model, usage);
      const cost_usd = priced ?? 0;
      const repairs = state.invalid.length;
      const mapped = await mapAnswer(answer, mapping);
      if (mapped.ok)
        return {
          output: mapped.output,
          attempt,
          repairs,
          model,
          usage,
          cost_usd,
          ...(priced === undefined ? { unpriced: true as const } : {}),
        };

      const maxRepairs = request.max_repairs ?? DEFAULT_MAX_REPAIRS;
      const details = {
        node: request.node,
        answer: answer.slice(0, ANSWER_IN_DETAILS),
        errors: mapped.errors,
        repairs,
        usage,
        cost_usd,
      };
      const summary = `node "${request.node}": the model's answer does not fit output_mapping: ${mapped.errors.join('; ')}`;
      if (repairs >= maxRepairs) {
        throw nonRetryableFailure(ErrorTypes.InvalidModelOutput, `${summary} (after ${repairs} repair(s))`, details);
      }
      ctx.heartbeat({ invalid: [...state.invalid, { answer, errors: mapped.errors }], usage } satisfies RepairState);
      throw retryableFailure(
        ErrorTypes.InvalidModelOutput,
        `${summary} (asking for repair ${repairs + 1} of ${maxRepairs})`,
        details,
        { nextRetryDelay: REPAIR_RETRY_DELAY_MS },
      );
    } catch (err) {
      // A cancelled call must surface as cancelled, not as a failure Temporal would retry.
      if (ctx.cancellationSignal.aborted) throw err;
      throw withAttempt(err, attempt);
    }
  };
}
