/**
 * The template language: a parameterised definition. A template has an `id` (the pattern of a
 * definition id), a `name`, a `description`, typed `parameters`, and a `definition` (a definition
 * without `id` and `version`) in which `{ "$param": "<name>" }` stands for a parameter's value.
 * Instantiating replaces each placeholder by the value as a whole JSON value, never by splicing
 * text, so a parameter is data and never becomes part of an expression (see instantiate.ts).
 */
import { z } from 'zod';
import { DEFINITION_ID_PATTERN } from '../../interpreter/definition-schema.js';

/** A parameter name: what `{ "$param": "<name>" }` and the instantiate body's `parameters` use. */
export const PARAMETER_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,63}$/;

export const PARAMETER_TYPES = ['string', 'number', 'integer', 'boolean', 'enum', 'json'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

/** At most this many parameters per template. */
export const MAX_PARAMETERS = 50;

const common = {
  name: z.string().regex(PARAMETER_NAME_PATTERN, 'expected a parameter name matching ^[a-z_][a-z0-9_]{0,63}$'),
  description: z.string().max(2_000).optional(),
  /** Without a default a parameter must be given, unless `required: false` (then it is null). */
  required: z.boolean().optional(),
};

const length = z.number().int().min(0).max(1_000_000);
const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const scalar = z.union([z.string(), finite, z.boolean()]);

export const StringParameter = z.strictObject({
  ...common,
  type: z.literal('string'),
  default: z.string().optional(),
  example: z.string().optional(),
  min_length: length.optional(),
  max_length: length.optional(),
});
export const NumberParameter = z.strictObject({
  ...common,
  type: z.literal('number'),
  default: finite.optional(),
  example: finite.optional(),
  minimum: finite.optional(),
  maximum: finite.optional(),
});
export const IntegerParameter = z.strictObject({
  ...common,
  type: z.literal('integer'),
  default: z.number().int().optional(),
  example: z.number().int().optional(),
  minimum: z.number().int().optional(),
  maximum: z.number().int().optional(),
});
export const BooleanParameter = z.strictObject({
  ...common,
  type: z.literal('boolean'),
  default: z.boolean().optional(),
});
export const EnumParameter = z.strictObject({
  ...common,
  type: z.literal('enum'),
  values: z.array(scalar).min(1).max(100),
  default: scalar.optional(),
});
export const JsonParameter = z.strictObject({
  ...common,
  type: z.literal('json'),
  default: z.json().optional(),
  example: z.json().optional(),
});

export const TemplateParameter = z.discriminatedUnion(
  'type',
  [StringParameter, NumberParameter, IntegerParameter, BooleanParameter, EnumParameter, JsonParameter],
  { error: `expected a parameter "type": one of ${PARAMETER_TYPES.join(', ')}` },
);
export type TemplateParameter = z.infer<typeof TemplateParameter>;

export const Template = z.strictObject({
  id: z.string().regex(DEFINITION_ID_PATTERN, 'expected an id matching ^[a-z0-9][a-z0-9._-]{0,63}$'),
  name: z.string().min(1).max(200),
  description: z.string().max(10_000).optional(),
  parameters: z.array(TemplateParameter).max(MAX_PARAMETERS).default([]),
  /** A definition without `id` and `version`; `{ "$param": "<name>" }` marks where a value goes. */
  definition: z.record(z.string(), z.json()),
});
export type Template = z.output<typeof Template>;

/** The body of `POST /v1/templates/{id}/instantiate`. */
export const InstantiateBody = z.strictObject({
  id: z.string().regex(DEFINITION_ID_PATTERN, 'expected a definition id matching ^[a-z0-9][a-z0-9._-]{0,63}$'),
  parameters: z.record(z.string(), z.json()).optional(),
  submit: z.boolean().optional(),
});
export type InstantiateBody = z.output<typeof InstantiateBody>;
