/**
 * The OpenAPI entries of the named connection routes (connection-routes.ts): the bodies are the
 * zod schemas the routes parse with, and each connector's `settings` / `secret_settings` the
 * schemas of activities/connections.ts.
 */
import { z } from 'zod';
import { CONNECTION_TYPES, UNSUPPORTED_CONNECTION_TYPES } from '../../activities/connections.js';
import { CreateConnectionBody, ReplaceConnectionBody } from './connection-routes.js';
import { pathParam } from './openapi-access.js';
import { schema, err, jsonContent, bodyErrors, op, body, type Paths } from './openapi-parts.js';
import { fromZod } from './openapi-schemas.js';

const name = pathParam('name', 'connection name');
const noKey = {
  ...err('Conflict'),
  description:
    '`conflict` (an existing name, or changed meanwhile) or `rejected`: the gateway has no `WEFT_CONNECTION_KEY`, so it stores, replaces and tests no connection',
};
const one = {
  description: 'the connection: `secret_settings` with every value as `"***"`',
  content: jsonContent(schema('Connection')),
};
const fields = Object.keys(CONNECTION_TYPES).join(', ');
const unsupported = Object.values(UNSUPPORTED_CONNECTION_TYPES)
  .map((reason) => ` (${reason})`)
  .join('');

export function connectionPaths(): Paths {
  return {
    '/v1/connections': {
      get: op('List the tenant’s named connections (never a secret value)', {
        '200': { description: 'by name', content: jsonContent(schema('ConnectionList')) },
      }),
      post: op(
        'Create a named connection in the caller’s tenant',
        { '201': one, '409': noKey, ...bodyErrors },
        {
          ...body('CreateConnectionBody'),
          description: `\`connector\` is one of ${fields}${unsupported} (\`ai\`: an OpenAI-compatible endpoint, \`base_url\` and \`secret_settings.api_key\`, for \`ai\` nodes' \`connection\`). \`settings\` and \`secret_settings\` are checked against the connector's schemas (\`ConnectionSettings_<connector>\`, \`ConnectionSecretSettings_<connector>\`): an unknown field is refused at its pointer. The secret settings are encrypted (AES-256-GCM under \`WEFT_CONNECTION_KEY\`) before they are stored and are never answered again.`,
        },
      ),
    },
    '/v1/connections/{name}': {
      get: op('One connection (never a secret value)', { '200': one, '404': err('NotFound') }, { parameters: [name] }),
      put: op(
        'Replace (rotate) a connection: its next version',
        { '200': one, '404': err('NotFound'), '409': noKey, ...bodyErrors },
        {
          parameters: [name],
          ...body('ReplaceConnectionBody'),
          description:
            '`settings` and `secret_settings` each replace the stored ones as a whole when given, and are kept when left out (`{ "secret_settings": { "password": "new" } }` rotates a password). `name` and `connector`, when given, must be the stored ones. The version rises by one; the next call of a run uses the new settings (workers open a new pool and close the old one).',
        },
      ),
      delete: op(
        'Delete a connection: calls through it fail `ConnectionNotFound` from then on',
        { '204': { description: 'deleted' }, '404': err('NotFound') },
        { parameters: [name] },
      ),
    },
    '/v1/connections/{name}/test': {
      post: op(
        'Test a connection: one harmless call from the gateway (postgres `SELECT 1`, redis `GET`, http `HEAD` of the base URL, nats connect and flush, email connect and log in without sending, ai `GET {base_url}/models`)',
        {
          '200': {
            description:
              '`{ "name", "connector", "version", "ok", "error"?: { "type", "message" }, "status"? }`: `ok: false` with the failure as a run would see it (naming the target, never a secret); for http any answer is `ok` with its `status`',
            content: jsonContent(schema('ConnectionTest')),
          },
          '404': err('NotFound'),
          '409': noKey,
          ...bodyErrors,
        },
        {
          parameters: [name],
          requestBody: {
            required: false,
            description: 'nothing: `{}` or no body (any field is refused)',
            content: jsonContent(schema('TestConnectionBody')),
          },
        },
      ),
    },
  };
}

const toSchema = (s: z.ZodType) => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
};

export function connectionSchemas(): Record<string, unknown> {
  const create = fromZod(CreateConnectionBody, 'CreateConnectionBody');
  const replace = fromZod(ReplaceConnectionBody, 'ReplaceConnectionBody');
  const perConnector = Object.fromEntries(
    Object.entries(CONNECTION_TYPES).flatMap(([connector, type]) => [
      [
        `ConnectionSettings_${connector}`,
        { ...toSchema(type.settings), description: `settings of a ${connector} connection (shown)` },
      ],
      [
        `ConnectionSecretSettings_${connector}`,
        { ...toSchema(type.secrets), description: `secret_settings of a ${connector} connection (never shown)` },
      ],
    ]),
  );
  const connection = {
    type: 'object',
    properties: {
      name: { type: 'string' },
      connector: { type: 'string', enum: Object.keys(CONNECTION_TYPES) },
      settings: { type: 'object', description: 'as stored, defaults filled in' },
      secret_settings: { type: 'object', description: 'which secret settings are set, every value `"***"`' },
      version: { type: 'integer', minimum: 1 },
      created_at: { type: 'string', format: 'date-time' },
      created_by: { type: 'string' },
      updated_at: { type: 'string', format: 'date-time' },
      updated_by: { type: 'string' },
    },
    required: [
      'name',
      'connector',
      'settings',
      'secret_settings',
      'version',
      'created_at',
      'created_by',
      'updated_at',
      'updated_by',
    ],
  };
  return {
    ...create.defs,
    ...replace.defs,
    CreateConnectionBody: create.root,
    TestConnectionBody: { type: 'object', additionalProperties: false, properties: {} },
    ReplaceConnectionBody: replace.root,
    ...perConnector,
    Connection: connection,
    ConnectionList: {
      type: 'object',
      properties: { items: { type: 'array', items: schema('Connection') } },
      required: ['items'],
    },
    ConnectionTest: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        connector: { type: 'string' },
        version: { type: 'integer' },
        ok: { type: 'boolean' },
        status: { type: 'integer' },
        error: {
          type: 'object',
          properties: { type: { type: 'string' }, message: { type: 'string' } },
          required: ['type', 'message'],
        },
      },
      required: ['name', 'connector', 'version', 'ok'],
    },
  };
}
