/**
 * A real local HTTP server for connector tests: routes are plain functions, every request is
 * recorded so a test can count calls. While it runs, the egress policy of this process's
 * workers allows its port (and only its port).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { allowLocalServer } from './egress.js';

export interface RecordedRequest {
  method: string;
  path: string;
  /** The request target as sent (path and raw query string). */
  url: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Route = (req: RecordedRequest, res: ServerResponse, nth: number) => void | Promise<void>;

export interface HttpTarget {
  url: string;
  requests: RecordedRequest[];
  /** Number of requests received on a path. */
  count(path: string): number;
  close(): Promise<void>;
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startHttpTarget(routes: Record<string, Route>): Promise<HttpTarget> {
  const requests: RecordedRequest[] = [];
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        url: req.url ?? '/',
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(recorded);
      const nth = (counts.get(url.pathname) ?? 0) + 1;
      counts.set(url.pathname, nth);
      const route = routes[url.pathname];
      if (!route) return json(res, 404, { error: 'no such route' });
      Promise.resolve(route(recorded, res, nth)).catch((err: unknown) => json(res, 599, { error: String(err) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const revoke = allowLocalServer(url);
  return {
    url,
    requests,
    count: (path) => counts.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        revoke();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A task node calling `url`, its output in the variable named like the node. */
function httpStep(url: string, id: string, extra: Record<string, unknown>) {
  return { id, type: 'task', connector: 'http', action: 'request', output: id, inputs: { url }, ...extra };
}

/**
 * A task node calling `<base>/<id>` once (no retries), its output in the variable named like the
 * node: the step of end-to-end tests that count calls on a test server.
 */
export function countedStep(base: string, id: string, extra: Record<string, unknown> = {}) {
  return httpStep(`${base}/${id}`, id, { retry_policy: { max_attempts: 1 }, ...extra });
}

/**
 * A task node calling `<base>/step?n=<id>` (retried by the defaults): calls are counted per step
 * by their `n` query.
 */
export function queryStep(base: string, id: string, extra: Record<string, unknown> = {}) {
  return httpStep(`${base}/step?n=${id}`, id, extra);
}
