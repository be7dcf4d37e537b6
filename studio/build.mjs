// Builds weft Studio into dist/studio: one script and one style sheet with fixed names (the
// gateway serves exactly these, see src/gateway/studio-routes.ts) and the page. esbuild bundles
// React, @xyflow/react and elkjs; nothing is fetched at run time.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'studio');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { studio: join(here, 'src', 'main.tsx') },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
copyFileSync(join(here, 'index.html'), join(out, 'index.html'));
// elkjs' layout algorithm, run by the page as a Web Worker (see src/graph.tsx).
copyFileSync(join(here, '..', 'node_modules', 'elkjs', 'lib', 'elk-worker.min.js'), join(out, 'elk-worker.js'));
