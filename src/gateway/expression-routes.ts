/**
 * `POST /v1/expressions/evaluate`: an expression or a `{{ }}` template evaluated against sample
 * data, for previews while editing. It is the engine's own evaluator (interpreter/expressions.ts):
 * the same allow-list of functions (checked when the expression is compiled), the same step,
 * size and regular-expression budgets, never `eval`. Like event-trigger filters it runs in slices
 * that give the event loop back (`gatewayMeter`). Every failure (syntax, a function that is not
 * allowed, a budget spent, a runtime error) answers 400 with the problem, never 500.
 */
import type { Express } from 'express';
import { z } from 'zod';
import { DEFINITION_LIMITS } from '../../interpreter/definition-limits.js';
import { WORK_METER } from '../../interpreter/expression-budget.js';
import {
  ExpressionError,
  evaluate,
  expressionSyntaxError,
  parseTemplate,
  renderTemplate,
  templateErrors,
} from '../../interpreter/expressions.js';
import type { Problem } from '../../interpreter/problems.js';
import { validationFailed, parseOrThrow } from '../shared/http-error.js';
import { gatewayMeter } from './trigger-checks.js';

const NODE_STATUSES = ['pending', 'running', 'waiting', 'completed', 'failed', 'skipped'] as const;

/** What an expression sees, as in a run: the names of the definition language's evaluation context. */
export const EvaluationContext = z.strictObject({
  vars: z.record(z.string(), z.json()).optional(),
  input: z.record(z.string(), z.json()).optional(),
  nodes: z
    .record(z.string(), z.strictObject({ output: z.json().optional(), status: z.enum(NODE_STATUSES).optional() }))
    .optional(),
  item: z.json().optional(),
  index: z.number().int().min(0).optional(),
  error: z
    .strictObject({
      type: z.string(),
      message: z.string(),
      node: z.string().optional(),
      attempt: z.number().int().min(1).optional(),
    })
    .optional(),
});

/** The body of `POST /v1/expressions/evaluate`: exactly one of `expression` and `template`. */
export const EvaluateBody = z
  .strictObject({
    expression: z.string().min(1).optional(),
    template: z.json().optional(),
    context: EvaluationContext.optional(),
  })
  .superRefine((body, ctx) => {
    if ((body.expression === undefined) === (body.template === undefined))
      ctx.addIssue({ code: 'custom', path: [], message: 'expected exactly one of "expression" and "template"' });
  });

/** Expressions longer than a definition may hold, in `value` at `pointer`. */
function tooLong(value: unknown, pointer: string): Problem[] {
  const limit = DEFINITION_LIMITS.expressionChars;
  const message = `at most ${limit.toLocaleString('en-US')} characters per expression, as in a definition`;
  if (typeof value === 'string') {
    if (!value.includes('{{')) return [];
    try {
      return parseTemplate(value).some((part) => 'expression' in part && part.expression.length > limit)
        ? [{ path: pointer, message }]
        : [];
    } catch {
      return []; // reported by templateErrors
    }
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => tooLong(item, `${pointer}/${i}`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([key, item]) =>
      tooLong(item, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`),
    );
  return [];
}

export function expressionRoutes(app: Express): void {
  app.post('/v1/expressions/evaluate', async (req, res) => {
    const body = parseOrThrow(EvaluateBody, req.body);
    const field = body.expression !== undefined ? '/expression' : '/template';
    const problems: Problem[] =
      body.expression !== undefined
        ? body.expression.length > DEFINITION_LIMITS.expressionChars
          ? [
              {
                path: field,
                message: `at most ${DEFINITION_LIMITS.expressionChars} characters per expression, as in a definition`,
              },
            ]
          : [expressionSyntaxError(body.expression)]
              .filter((m): m is string => m !== undefined)
              .map((message) => ({ path: field, message }))
        : [
            ...tooLong(body.template, field),
            ...templateErrors(body.template, field).map(([path, message]) => ({ path, message })),
          ];
    if (problems.length > 0) throw validationFailed(problems, 'the expression cannot be evaluated');
    const { vars = {}, input = {}, nodes = {}, ...rest } = body.context ?? {};
    const context = { vars, input, nodes, ...rest, [WORK_METER]: gatewayMeter() };
    let value: unknown;
    try {
      value =
        body.expression !== undefined
          ? await evaluate(body.expression, context)
          : await renderTemplate(body.template, context);
    } catch (err) {
      // Over budget, a failing $assert or $error, a wrong type: the caller's expression, never a 500.
      const message = err instanceof ExpressionError || err instanceof Error ? err.message : String(err);
      throw validationFailed([{ path: field, message }], 'the expression failed');
    }
    // `undefined` (JSONata's "no match") has no JSON form: `null`, and `defined: false` says so.
    res.json(value === undefined ? { value: null, defined: false } : { value, defined: true });
  });
}
