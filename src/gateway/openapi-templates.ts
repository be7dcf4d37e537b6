/**
 * The OpenAPI entries of the template routes (template-routes.ts) and of the expression preview
 * (expression-routes.ts). Their bodies are the zod schemas the routes parse with.
 */
import { pathParam } from './openapi-access.js';
import { schema, err, jsonContent, bodyErrors, op, body, type Paths } from './openapi-parts.js';

const id = pathParam('id', 'template id');

export function templatePaths(): Paths {
  return {
    '/v1/templates': {
      get: op('List templates: the built-in starter library and the tenant’s own', {
        '200': { description: 'by id, without their definitions', content: jsonContent(schema('TemplateList')) },
      }),
      post: op(
        'Store a template in the caller’s tenant',
        {
          '201': { description: '`{ "id", "created": true }`' },
          '200': { description: 'the same content was stored under this id already: `{ "id", "created": false }`' },
          '409': err('Conflict'),
          ...bodyErrors,
        },
        {
          ...body('Template'),
          description:
            'Checked at once: the template schema, every `{ "$param": "<name>" }` placeholder (it names a declared parameter, every parameter is used, none stands where an expression is read), defaults and examples against their parameter, and the definition instantiated with each default (or example) through the validation of `POST /v1/definitions`. Problems point into the template. Templates are immutable: other content under a stored id, or a built-in id, answers 409.',
        },
      ),
    },
    '/v1/templates/{id}': {
      get: op(
        'One template, with its definition',
        {
          '200': { description: 'the template', content: jsonContent(schema('StoredTemplate')) },
          '404': err('NotFound'),
        },
        { parameters: [id] },
      ),
      delete: op(
        'Delete one of the tenant’s templates',
        {
          '204': { description: 'deleted' },
          '404': err('NotFound'),
          '409': { ...err('Conflict'), description: '`rejected`: a built-in template cannot be deleted' },
        },
        { parameters: [id] },
      ),
    },
    '/v1/templates/{id}/instantiate': {
      post: op(
        'A definition from a template and parameter values',
        {
          '200': {
            description: 'the validated definition (defaults filled in), not stored',
            content: jsonContent(schema('Definition')),
          },
          '201': {
            description: 'with `submit: true`: stored as its first or next version, as `POST /v1/definitions` answers',
            content: jsonContent(schema('SubmitResult')),
          },
          '404': err('NotFound'),
          ...bodyErrors,
        },
        {
          parameters: [id],
          ...body('InstantiateBody'),
          description:
            'Values are checked against their parameters (`/parameters/<name>`: unknown, missing, wrong type or out of bounds) and replace their placeholders as whole JSON values. A value whose strings would become code (a string holding `{{`, or landing where an expression is read) is refused. The definition then goes through exactly the validation of `POST /v1/definitions` (language, triggers, quotas); a problem inside a substituted value points at its parameter. With `submit: true` it is stored as `POST /v1/definitions` stores it (`200` when identical to the latest version; four-eyes publishing answers `approval: "pending"`).',
        },
      ),
    },
    '/v1/expressions/evaluate': {
      post: op(
        'Evaluate an expression or a template against sample data (a preview; nothing is stored)',
        {
          '200': {
            description:
              '`{ "value", "defined" }`: the value; `null` with `defined: false` when the expression yields nothing (JSONata\'s undefined)',
          },
          ...bodyErrors,
        },
        {
          ...body('EvaluateBody'),
          description:
            'The engine’s evaluator with its allow-list of functions and its budgets (steps, sizes, RE2 regular expressions), in slices that give the gateway’s event loop back. A syntax error, a function that is not allowed, a spent budget or a failure answers 400 naming `/expression` or the template’s field.',
        },
      ),
    },
  };
}
