/**
 * The default price table of AI steps: USD per million input (prompt) and output (completion)
 * tokens of common models on OpenAI's Chat Completions API, standard tier (no batch or cached-
 * input discounts). `WEFT_AI_PRICES` adds models and overrides these entry by entry.
 *
 * Source: OpenAI's API pricing page, https://platform.openai.com/docs/pricing (and
 * https://openai.com/api/pricing), figures as listed in August 2025 and unchanged in published
 * copies of that page of March 2026. Prices change: a worker for real money should pin its
 * models' prices in `WEFT_AI_PRICES` rather than rely on this table.
 */
import type { Price } from './ai-config.js';

export const DEFAULT_AI_PRICES: Readonly<Record<string, Price>> = {
  'gpt-5': { input_per_1m: 1.25, output_per_1m: 10 },
  'gpt-5.1': { input_per_1m: 1.25, output_per_1m: 10 },
  'gpt-5-mini': { input_per_1m: 0.25, output_per_1m: 2 },
  'gpt-5-nano': { input_per_1m: 0.05, output_per_1m: 0.4 },
  'gpt-4.1': { input_per_1m: 2, output_per_1m: 8 },
  'gpt-4.1-mini': { input_per_1m: 0.4, output_per_1m: 1.6 },
  'gpt-4.1-nano': { input_per_1m: 0.1, output_per_1m: 0.4 },
  'gpt-4o': { input_per_1m: 2.5, output_per_1m: 10 },
  // The first gpt-4o snapshot kept its launch price.
  'gpt-4o-2024-05-13': { input_per_1m: 5, output_per_1m: 15 },
  'gpt-4o-mini': { input_per_1m: 0.15, output_per_1m: 0.6 },
  o1: { input_per_1m: 15, output_per_1m: 60 },
  'o1-mini': { input_per_1m: 1.1, output_per_1m: 4.4 },
  o3: { input_per_1m: 2, output_per_1m: 8 },
  'o3-mini': { input_per_1m: 1.1, output_per_1m: 4.4 },
  'o4-mini': { input_per_1m: 1.1, output_per_1m: 4.4 },
  'gpt-4-turbo': { input_per_1m: 10, output_per_1m: 30 },
  'gpt-3.5-turbo': { input_per_1m: 0.5, output_per_1m: 1.5 },
};

/** A dated snapshot name (`gpt-4o-mini-2024-07-18`) falls back to its model's price. */
const SNAPSHOT = /-\d{4}-\d{2}-\d{2}$/;

/** The price of a model: its own entry, else its undated name's; undefined when neither is listed. */
export function priceOf(prices: Readonly<Record<string, Price>>, model: string): Price | undefined {
  return prices[model] ?? (SNAPSHOT.test(model) ? prices[model.replace(SNAPSHOT, '')] : undefined);
}
