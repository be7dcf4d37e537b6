/**
 * The shapes of an AI step's activity call, as types only: workflow code imports them with
 * `import type` and stays free of the activity's runtime dependencies.
 */
import type { AiCall } from '../interpreter/commands.js';

/** One AI step, rendered by the workflow (the interpreter's `AiCall`), plus the repair bound. */
export interface AiRequest extends AiCall {
  /** How many times an answer that fails the mapping is sent back for repair (default 2). */
  max_repairs?: number;
  /** The run has an AI budget: a model without a price is refused before it is called (set by the workflow). */
  budgeted?: boolean;
}

/** What an AI step produced. Tokens and cost include the answers that had to be repaired. */
export interface AiResult {
  output: unknown;
  /** The Temporal attempt that produced the output. */
  attempt: number;
  /** How many repair rounds the conversation went through. */
  repairs: number;
  /** The model actually called (the alias resolved). */
  model: string;
  usage: { input_tokens: number; output_tokens: number };
  cost_usd: number;
  /** The model has no price (`WEFT_AI_PRICES`, default table): `cost_usd` is 0 whatever it really cost. */
  unpriced?: true;
}
