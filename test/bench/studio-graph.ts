/**
 * `npm run bench:studio`: time to first render of a 200- and a 500-node definition graph in weft
 * Studio, in Debian's Chromium: from the start of the page load to the first laid-out node drawn
 * (the page loads, asks who the caller is, fetches the definition, lays it out with elkjs and
 * draws it with React Flow). Not a test: prints a Markdown table for BENCHMARKS.md.
 */
import { launchChromium } from '../support/browser.js';
import { startTestStack } from '../support/gateway.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

/** `size` set nodes: a root and chains of ten hanging off it, so the graph is both wide and deep. */
function graph(size: number) {
  const nodes = Array.from({ length: size }, (_v, i) => ({
    id: `n${i}`,
    type: 'set',
    assign: { [`v${i % 7}`]: `${i}` },
  }));
  const edges: Array<{ from: string; to: string }> = [];
  for (let i = 1; i < size; i++) edges.push({ from: i % 10 === 0 ? 'n0' : `n${i - 1}`, to: `n${i}` });
  return { id: `graph-${size}`, variables: [], nodes, edges };
}

// The gateway alone: no run is started, so no Temporal server is needed.
process.env.TEMPORAL_ADDRESS ??= '127.0.0.1:7233';
const stack = await startTestStack({ worker: false });
const browser = await launchChromium();
const rows: string[] = [];
try {
  for (const size of [200, 500]) {
    const submitted = await stack.call('POST', '/v1/definitions', graph(size));
    if (submitted.status !== 201) throw new Error(`submit of ${size} nodes: ${JSON.stringify(submitted.body)}`);
    const samples: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const context = await browser.newContext({ viewport: { width: 1500, height: 1000 } });
      const page = await context.newPage();
      await page.goto(`${stack.gateway.url}/#/definitions/graph-${size}`);
      await page.locator('[data-testid="graph"] .react-flow__node').first().waitFor({ timeout: 120_000 });
      samples.push(await page.evaluate(() => performance.now()));
      await context.close();
    }
    samples.sort((a, b) => a - b);
    const median = samples[Math.floor(samples.length / 2)] ?? 0;
    log(`${size} nodes: ${samples.map((s) => s.toFixed(0)).join(', ')} ms`);
    rows.push(
      `| ${size} | ${median.toFixed(0)} ms | ${(samples[0] ?? 0).toFixed(0)}–${(samples[samples.length - 1] ?? 0).toFixed(0)} ms |`,
    );
  }
} finally {
  await browser.close();
  await stack.close();
}
process.stdout.write(['| nodes | first render (median) | range |', '| --- | --- | --- |', ...rows, ''].join('\n'));
