/**
 * The shapes of an AI step's activity call, as types only: workflow code imports them with
 * `import type` and stays free of the activity's runtime dependencies.
 */

/** One AI step, rendered by the workflow: the prompt is final text, no templates left. */
export interface AiRequest {
  /** The node id; names the step in errors and in the structured-output schema. */
  node: string;
  /** A model name or an alias from `WEFT_AI_MODELS`. */
  model: string;
  system?: string;
  prompt: string;
  /** Chat completion parameters: temperature, max_tokens, top_p, …; unknown ones are refused. */
  parameters?: Record<string, unknown>;
  /**
   * A JSON Schema the answer must satisfy (requested as structured output), or a
   * `{ "var": "jsonata over the answer" }` map whose evaluation is the output.
   */
  output_mapping?: Record<string, unknown>;
  /** How many times an answer that fails the mapping is sent back for repair (default 2). */
  max_repairs?: number;
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
}
