/**
 * The one way the Studio talks to the gateway: its documented `/v1` API, with the API key the
 * person entered (kept in sessionStorage: this browser tab only, gone when it closes). Errors keep
 * the API's own problem text, so the page can show exactly what the gateway said.
 */

export interface Problem {
  path: string;
  message: string;
}

/** The gateway answered with an error (`{ error: { code, message, details } }`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Problem[],
  ) {
    super(message);
  }
}

/** The gateway could not be reached at all. */
export class NetworkError extends Error {}

const KEY = 'weft.studio.api-key';

export const credentials = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (key: string): void => sessionStorage.setItem(KEY, key),
  clear: (): void => sessionStorage.removeItem(KEY),
};

function errorOf(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  const details = Array.isArray(error?.details)
    ? error.details.filter((d): d is Problem => typeof d === 'object' && d !== null && 'path' in d && 'message' in d)
    : [];
  return new ApiError(
    status,
    typeof error?.code === 'string' ? error.code : 'unexpected',
    typeof error?.message === 'string' ? error.message : `the gateway answered HTTP ${status}`,
    details,
  );
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const key = credentials.get();
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new NetworkError(
      `The gateway cannot be reached (${err instanceof Error ? err.message : String(err)}). Nothing on this page was lost; try again.`,
    );
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) throw errorOf(response.status, parsed);
  return parsed as T;
}

/** A path from segments, each encoded (run ids hold ":"). */
export function route(...segments: string[]): string {
  return segments.map((s, i) => (i === 0 ? s : encodeURIComponent(s))).join('/');
}

/** A readable line for any error, with the API's problems. */
export function describe(err: unknown): string {
  if (err instanceof ApiError) {
    const details = err.details.map((d) => `${d.path || '/'}: ${d.message}`).join('; ');
    return details ? `${err.message} — ${details}` : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

export interface Identity {
  actor: string;
  tenant: string;
  roles: string[];
  permissions: Array<'read' | 'run' | 'edit' | 'approve' | 'admin'>;
  via: string;
  authentication: 'required' | 'local-development';
}

export interface Variable {
  name: string;
  type: 'string' | 'number' | 'boolean' | 'object' | 'array' | 'any';
  default?: unknown;
  required?: boolean;
  secret?: boolean;
}

export interface DefNode {
  id: string;
  type: string;
  name?: string;
  [field: string]: unknown;
}

export interface DefEdge {
  from: string;
  to: string;
  when?: string;
  on?: 'success' | 'error';
  default?: boolean;
}

export interface Definition {
  id: string;
  version?: string;
  name?: string;
  description?: string;
  variables?: Variable[];
  nodes: DefNode[];
  edges?: DefEdge[];
  triggers?: Array<{ type: string; [field: string]: unknown }>;
  error_handlers?: Array<{ id: string; action: string; match?: { node?: string | string[]; error_type?: unknown } }>;
  options?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface NodeState {
  status: string;
  attempts?: number;
  output?: unknown;
  error?: unknown;
  cached?: boolean;
  items?: { total: number; completed: number; running: number; failed: number };
  [field: string]: unknown;
}

export interface RunState {
  workflow_id: string;
  instance_id: string;
  definition_id: string;
  definition_version: string;
  status: string;
  active_nodes?: string[];
  variables?: Record<string, unknown>;
  nodes: Record<string, NodeState>;
  history?: Array<{ at: string; node?: string; from?: string; to?: string; by?: string; note?: string }>;
  cost?: { usd?: number; tokens?: { input?: number; output?: number } };
  result?: unknown;
  error?: { type?: string; message?: string; node?: string };
  ui_url?: string;
}
