/**
 * Request body parsing for the gateway: JSON whatever the content type (curl's default form
 * type included), the raw bytes kept for webhook signatures, and a nesting limit so a hostile
 * body cannot exhaust the stack of the code that walks it later (validation, hashing,
 * serialisation to Temporal).
 */
import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { validationFailed } from '../shared/http-error.js';

/** Deeper than any real definition or webhook payload; far below what would overflow the stack. */
export const MAX_BODY_DEPTH = 100;

const rawBodies = new WeakMap<IncomingMessage, Buffer>();

/** The bytes of the request body exactly as received (empty when there was none). */
export function rawBody(req: IncomingMessage): Buffer {
  return rawBodies.get(req) ?? Buffer.alloc(0);
}

/** Whether `value` nests deeper than `limit` arrays/objects. Iterative: it must not overflow itself. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

const limitDepth: RequestHandler = (req, _res, next) => {
  if (nestsDeeperThan(req.body, MAX_BODY_DEPTH)) {
    throw validationFailed(
      [{ path: '', message: `the body nests arrays/objects deeper than ${MAX_BODY_DEPTH} levels` }],
      'malformed body',
    );
  }
  next();
};

/** The body-parsing middleware chain; `limit` in bytes, or a string such as `'2mb'`. */
export function jsonBody(limit: string | number): RequestHandler[] {
  return [
    express.json({
      limit,
      strict: false,
      type: () => true,
      verify: (req, _res, buf) => {
        rawBodies.set(req, buf);
      },
    }),
    limitDepth,
  ];
}
