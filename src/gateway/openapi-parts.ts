/**
 * The small builders the OpenAPI route modules share (openapi-templates.ts,
 * openapi-connections.ts): references to components, JSON content, and an operation that every
 * route answers 503 on when Temporal or the store is unavailable.
 */
export type Operation = Record<string, unknown>;
export type Paths = Record<string, Record<string, Operation>>;

export const schema = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const err = (name: string) => ({ $ref: `#/components/responses/${name}` });
export const jsonContent = (s: unknown) => ({ 'application/json': { schema: s } });
const always = { '503': err('Unavailable') };
export const bodyErrors = {
  '400': err('BadRequest'),
  '413': err('PayloadTooLarge'),
  '415': err('UnsupportedMediaType'),
};
export const op = (summary: string, responses: Record<string, unknown>, extra: Operation = {}): Operation => ({
  summary,
  ...extra,
  responses: { ...responses, ...always },
});
/** A required JSON request body of component schema `name`. */
export const body = (name: string) => ({ requestBody: { required: true, content: jsonContent(schema(name)) } });
