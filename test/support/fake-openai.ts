/**
 * A real local HTTP server speaking the OpenAI Chat Completions protocol, for AI step tests:
 * `GET /v1/models` lists one model (a connection test); `POST /v1/chat/completions` answers from a scripted queue (content, status codes, headers,
 * usage), checks the request the way the real endpoint does (model, messages, API key,
 * `response_format` json_schema), and logs every request. An answer may be delayed (`delay_ms`).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer. 200 answers carry `content` (or `json`, sent as its JSON text). */
export interface FakeAnswer {
  status?: number;
  content?: string;
  json?: unknown;
  usage?: { prompt_tokens: number; completion_tokens: number };
  headers?: Record<string, string>;
  /** The error object of a non-200 answer. */
  error?: { message: string; type?: string; code?: string };
  /** Answer only after this many ms (dropped if the client hung up meanwhile), to simulate a slow model. */
  delay_ms?: number;
}

export interface FakeRequest {
  /** When it arrived (ms since the epoch), to check retry delays. */
  at: number;
  headers: IncomingMessage['headers'];
  body: any;
}

export interface FakeOpenAi {
  /** Base URL to give the client (`…/v1`). */
  url: string;
  apiKey: string;
  requests: FakeRequest[];
  /** Delayed answers whose client hung up before they were sent (a cancelled call). */
  hungUp(): number;
  /** Queues answers, used in order by the next requests. */
  enqueue(...answers: Array<FakeAnswer | ((request: FakeRequest) => FakeAnswer)>): void;
  /** Forgets logged requests and unused answers. */
  reset(): void;
  close(): Promise<void>;
}

const SCHEMA_NAME = /^[A-Za-z0-9_-]{1,64}$/;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function invalid(res: ServerResponse, message: string, param?: string): void {
  send(res, 400, { error: { message, type: 'invalid_request_error', param: param ?? null, code: null } });
}

/** Mirrors the checks of the real endpoint that a client mistake would trip. */
function requestProblem(body: any): [string, string] | undefined {
  if (!body || typeof body !== 'object') return ['request body must be a JSON object', 'body'];
  if (typeof body.model !== 'string' || !body.model) return ['you must provide a model parameter', 'model'];
  if (!Array.isArray(body.messages) || body.messages.length === 0) return ['messages must be non-empty', 'messages'];
  for (const m of body.messages) {
    if (!['system', 'user', 'assistant', 'developer', 'tool'].includes(m?.role)) return ['invalid role', 'messages'];
    if (typeof m.content !== 'string') return ['message content must be a string here', 'messages'];
  }
  const format = body.response_format;
  if (format !== undefined) {
    if (!['text', 'json_object', 'json_schema'].includes(format?.type))
      return ['invalid response_format', 'response_format'];
    if (format.type === 'json_schema') {
      const schema = format.json_schema;
      if (!SCHEMA_NAME.test(String(schema?.name)))
        return ['invalid json_schema.name', 'response_format.json_schema.name'];
      if (!schema.schema || typeof schema.schema !== 'object') return ['missing json_schema.schema', 'response_format'];
    }
  }
  return undefined;
}

function tokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
  const apiKey = `sk-test-${randomBytes(6).toString('hex')}`;
  const requests: FakeRequest[] = [];
  const queue: Array<FakeAnswer | ((request: FakeRequest) => FakeAnswer)> = [];
  const timers = new Set<NodeJS.Timeout>();
  let hungUp = 0;
  const later = (ms: number | undefined, res: ServerResponse, respond: () => void): void => {
    if (!ms) return respond();
    res.on('close', () => {
      if (!res.writableFinished) hungUp++;
    });
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!res.destroyed) respond();
    }, ms);
    timers.add(timer);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // What a connection test calls: the model list, behind the same key check.
      if (req.method === 'GET' && req.url === '/v1/models') {
        requests.push({ at: Date.now(), headers: req.headers, body: undefined });
        if (req.headers.authorization !== `Bearer ${apiKey}`) {
          return send(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } });
        }
        return send(res, 200, { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', owned_by: 'fake' }] });
      }
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        return send(res, 404, {
          error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' },
        });
      }
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        return invalid(res, 'could not parse the JSON body');
      }
      const request: FakeRequest = { at: Date.now(), headers: req.headers, body };
      requests.push(request);
      if (req.headers.authorization !== `Bearer ${apiKey}`) {
        return send(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } });
      }
      const problem = requestProblem(body);
      if (problem) return invalid(res, problem[0], problem[1]);
      const next = queue.shift();
      if (!next)
        return send(res, 500, { error: { message: 'fake-openai: no scripted answer left', type: 'server_error' } });
      const answer = typeof next === 'function' ? next(request) : next;
      const status = answer.status ?? 200;
      if (status !== 200) {
        return later(answer.delay_ms, res, () =>
          send(
            res,
            status,
            { error: answer.error ?? { message: `scripted ${status}`, type: 'server_error' } },
            answer.headers,
          ),
        );
      }
      const content = answer.content ?? JSON.stringify(answer.json);
      const prompt = (body.messages as Array<{ content: string }>).map((m) => m.content).join('\n');
      const usage = answer.usage ?? { prompt_tokens: tokens(prompt), completion_tokens: tokens(content) };
      later(answer.delay_ms, res, () =>
        send(
          res,
          200,
          {
            id: `chatcmpl-${randomBytes(8).toString('hex')}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: body.model,
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content, refusal: null },
                finish_reason: 'stop',
                logprobs: null,
              },
            ],
            usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
          },
          answer.headers,
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    apiKey,
    requests,
    hungUp: () => hungUp,
    enqueue: (...answers) => void queue.push(...answers),
    reset() {
      requests.length = 0;
      queue.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
