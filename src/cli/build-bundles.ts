/**
 * The last step of `npm run build` (after tsc): the workflow bundles for the production entry
 * point, every variant, into `dist/workflow-bundles/` (see `src/worker/workflow-bundles.ts`).
 * A variant whose bundle is still current is not rebuilt.
 */
import { DEFAULT_BUNDLE_DIR, buildBundles } from '../worker/workflow-bundles.js';

await buildBundles(DEFAULT_BUNDLE_DIR, (line) => process.stderr.write(`[workflow bundles] ${line}\n`));
