/**
 * The workflow code bundles, built ahead of time by `npm run build` (`src/cli/build-bundles.ts`)
 * into `dist/workflow-bundles/<variant>.js`, as Temporal recommends for production: the worker
 * hands the SDK the file (`workflowBundle: { codePath }`) instead of running webpack at start.
 *
 * A bundle is current when every file webpack read to build it (the compiled workflow and
 * interpreter code, the interceptor and failure-converter modules, the bundled packages' files)
 * still has the content it had, and the SDK is the same version: `manifest.json` records those
 * files and a hash of them, per variant. The worker recomputes the hash of its variant and
 * bundles at start, saying why, when the bundle is missing or stale.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTORS_PATH } from '../telemetry/temporal-tracing.js';
import { ENCODED_FAILURE_CONVERTER_PATH } from '../codec/data-converter.js';

/** The project's root (the parent of `dist/`): manifest paths are relative to it, so the tree can move. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The production entry point, the one the bundles are built for. */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.js', import.meta.url));

/** Where `npm run build` writes the bundles and their manifest. */
export const DEFAULT_BUNDLE_DIR = fileURLToPath(new URL('../../workflow-bundles/', import.meta.url));

/**
 * What is compiled into a bundle besides the workflows: the tracing interceptors (workflow
 * interceptors cannot be added to a built bundle), and the failure converter of encrypting
 * workers (the workflow's own failures are converted inside the sandbox).
 */
export interface BundleVariant {
  traced: boolean;
  encodedFailures: boolean;
}

/** Every variant a worker can ask for. */
export const VARIANTS: readonly BundleVariant[] = [
  { traced: false, encodedFailures: false },
  { traced: true, encodedFailures: false },
  { traced: false, encodedFailures: true },
  { traced: true, encodedFailures: true },
];

/** `plain`, `traced`, `encoded-failures`, `traced-encoded-failures`: the bundle's file name. */
export function variantName(variant: BundleVariant): string {
  const parts = [variant.traced ? 'traced' : '', variant.encodedFailures ? 'encoded-failures' : ''];
  return parts.filter(Boolean).join('-') || 'plain';
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => process.stderr.write(`workflow bundler: ${message}\n`),
  error: (message: string) => process.stderr.write(`workflow bundler: ${message}\n`),
};

/** The SDK bundler's options for one entry point and variant. */
export function bundleOptions(workflowsPath: string, variant: BundleVariant): BundleOptions {
  return {
    workflowsPath,
    workflowInterceptorModules: variant.traced ? [WORKFLOW_INTERCEPTORS_PATH] : [],
    ...(variant.encodedFailures ? { failureConverterPath: ENCODED_FAILURE_CONVERTER_PATH } : {}),
    logger: quietBundlerLogger,
  };
}

/** One prebuilt bundle: its file (in the bundle directory), what it was built from, and their hash. */
interface ManifestEntry {
  file: string;
  /** Files webpack read, relative to the project root, sorted. */
  inputs: string[];
  hash: string;
}

type Manifest = Partial<Record<string, ManifestEntry>>;

const MANIFEST = 'manifest.json';

function sdkVersion(): string {
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(require.resolve('@temporalio/worker/package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** The hash of the SDK version and each input's path and content; undefined when an input is gone. */
export function inputsHash(inputs: readonly string[]): string | undefined {
  const hash = createHash('sha256').update(`@temporalio/worker ${sdkVersion()}\0`);
  for (const input of inputs) {
    const path = join(ROOT, input);
    if (!existsSync(path)) return undefined;
    hash.update(`${input}\0`).update(readFileSync(path)).update('\0');
  }
  return hash.digest('hex');
}

async function readManifest(dir: string): Promise<Manifest> {
  try {
    return JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return {};
  }
}

/** The prebuilt bundle of `variant` in `dir` when it is current, else why it cannot be used. */
export async function prebuiltBundle(
  variant: BundleVariant,
  dir = DEFAULT_BUNDLE_DIR,
): Promise<{ codePath: string } | { reason: string }> {
  const name = variantName(variant);
  const entry = (await readManifest(dir))[name];
  const codePath = join(dir, entry?.file ?? `${name}.js`);
  if (!entry || !existsSync(codePath)) return { reason: `no prebuilt workflow bundle ${codePath} (run npm run build)` };
  if (inputsHash(entry.inputs) !== entry.hash) {
    return { reason: `the prebuilt workflow bundle ${codePath} is stale: its inputs changed since it was built` };
  }
  return { codePath };
}

/** Bundles with the SDK and collects the files webpack read (its compilation's `fileDependencies`). */
async function bundleWithInputs(variant: BundleVariant): Promise<{ code: string; inputs: string[] }> {
  const read = new Set<string>();
  const { code } = await bundleWorkflowCode({
    ...bundleOptions(WORKFLOWS_PATH, variant),
    webpackConfigHook: (config) => ({
      ...config,
      plugins: [
        ...(config.plugins ?? []),
        {
          apply: (compiler) =>
            compiler.hooks.done.tap('weft-bundle-inputs', (stats) => {
              for (const file of stats.compilation.fileDependencies) read.add(file);
            }),
        },
      ],
    }),
  });
  // The SDK's generated entry point lives in memory; only files on disk can be checked later.
  // Our TypeScript sources are read only for the source map's text and are not in a deployed
  // image (the Dockerfile ships dist/), so they do not make a bundle stale.
  const inputs = [...read]
    .filter((file) => isAbsolute(file) && existsSync(file) && statSync(file).isFile())
    .map((file) => relative(ROOT, file).split(sep).join('/'))
    .filter((file) => file.startsWith('node_modules/') || !file.endsWith('.ts'))
    .sort();
  return { code, inputs };
}

/**
 * Builds every variant into `dir` (atomically, file then manifest), skipping those whose bundle
 * is already current; returns the names of those built.
 */
export async function buildBundles(dir = DEFAULT_BUNDLE_DIR, log: (line: string) => void = () => undefined) {
  await mkdir(dir, { recursive: true });
  const manifest = await readManifest(dir);
  const built: string[] = [];
  for (const variant of VARIANTS) {
    const name = variantName(variant);
    if ('codePath' in (await prebuiltBundle(variant, dir))) {
      log(`${name}: up to date`);
      continue;
    }
    const { code, inputs } = await bundleWithInputs(variant);
    const file = `${name}.js`;
    await writeAtomically(join(dir, file), code);
    manifest[name] = { file, inputs, hash: inputsHash(inputs) ?? '' };
    await writeAtomically(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    log(`${name}: built ${file} from ${inputs.length} files`);
    built.push(name);
  }
  return built;
}

async function writeAtomically(path: string, content: string): Promise<void> {
  await writeFile(`${path}.tmp`, content);
  await rename(`${path}.tmp`, path);
}
