/**
 * weft Studio, the web application in `studio/`, served at `/`: its page and its bundled
 * files, each a route of its own in the route table (public: they hold no data, and the browser
 * loads them before the person has entered a key; every API call the page makes carries the
 * key). The page's views live in the URL fragment (`/#/runs/…`), so no other path is served.
 * The Content-Security-Policy allows scripts and styles from the gateway only (no inline script,
 * no eval) and connections to the gateway only.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Express, Response } from 'express';
import { HttpError } from '../shared/http-error.js';

/** Where `npm run build` writes the Studio (`studio/build.mjs`): `dist/studio`. */
const BUILT = fileURLToPath(new URL('../../studio/', import.meta.url));

export const STUDIO_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const FILES = {
  '/': { file: 'index.html', type: 'html' },
  '/studio/studio.js': { file: 'studio.js', type: 'js' },
  '/studio/studio.css': { file: 'studio.css', type: 'css' },
  '/studio/elk-worker.js': { file: 'elk-worker.js', type: 'js' },
} as const;

function send(res: Response, file: string, type: string): void {
  const path = `${BUILT}${file}`;
  if (!existsSync(path))
    throw new HttpError('unavailable', `the Studio is not built (no ${file}): run "npm run build" before the gateway`);
  res.setHeader('Content-Security-Policy', STUDIO_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  // Fixed names: the browser revalidates (ETag) so a rebuilt Studio is picked up at once.
  res.setHeader('Cache-Control', 'no-cache');
  res.type(type).sendFile(path);
}

export function studioRoutes(app: Express): void {
  for (const [route, { file, type }] of Object.entries(FILES)) {
    app.get(route, (_req, res) => send(res, file, type));
  }
}
