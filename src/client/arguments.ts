/**
 * Turning command-line text into request values. Every mistake is a {@link UsageError} naming
 * the argument, so it exits 2 before anything is sent.
 */
import { readFile } from 'node:fs/promises';
import { jsonSyntaxPosition } from '../shared/json-position.js';
import { UsageError } from './errors.js';

/**
 * `text` parsed as JSON; `what` names the argument in the error (`--input`), which says where the
 * text stops being JSON by line and column (as the gateway does), not by Node's character offset.
 */
export function jsonArgument(what: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const at = jsonSyntaxPosition(text);
    const where = at ? `at line ${at.line}, column ${at.column}, expected ${at.expected}` : (err as Error).message;
    throw new UsageError(`${what} is not valid JSON: ${where}`);
  }
}

/** `text` parsed as a JSON object (`{ … }`). */
export function jsonObjectArgument(what: string, text: string): Record<string, unknown> {
  const value = jsonArgument(what, text);
  if (!isObject(value)) throw new UsageError(`${what} must be a JSON object, such as '{"name": "value"}'`);
  return value;
}

/** A JSON file's content; `-` reads stdin. */
export async function readJsonFile(file: string, stdin: NodeJS.ReadableStream): Promise<unknown> {
  let text: string;
  try {
    text = file === '-' ? await readAll(stdin) : await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UsageError(`cannot read ${file === '-' ? 'stdin' : file}: ${reason}`);
  }
  return jsonArgument(file === '-' ? 'stdin' : file, text);
}

/** A JSON object read from a file (`-` for stdin). */
export async function readJsonObjectFile(file: string, stdin: NodeJS.ReadableStream): Promise<Record<string, unknown>> {
  const value = await readJsonFile(file, stdin);
  if (!isObject(value)) throw new UsageError(`${file === '-' ? 'stdin' : file} must hold a JSON object`);
  return value;
}

/**
 * `name=value` pairs as an object. A value is taken as JSON when it parses (`5`, `true`,
 * `{"a":1}`, `"quoted"`), else as the string it is (`hello`).
 */
export function assignments(pairs: string[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`expected name=value, got "${pair}"`);
    const text = pair.slice(at + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      // not JSON: the value is the text itself
    }
    result[pair.slice(0, at)] = value;
  }
  return result;
}

/** A whole number ≥ 1 (`--limit`). */
export function positiveInteger(what: string, text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1)
    throw new UsageError(`${what} must be a whole number ≥ 1, got "${text}"`);
  return Number(text);
}

/** A number ≥ 0 (`--max-cost`). */
export function nonNegativeNumber(what: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`${what} must be a number ≥ 0, got "${text}"`);
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
