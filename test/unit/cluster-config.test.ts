/**
 * The cluster mode's configuration without starting it: `TEMPORAL_PORT` / `TEMPORAL_UI_PORT` as
 * `loadConfig` reads them (so two stacks can coexist), the port layout of
 * deploy/temporal/config/weft-cluster.yaml, and docker-compose.yml as Compose reads it
 * (`docker compose config`, or the file's YAML where the Compose plugin is missing).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config.js';
import {
  TEMPORAL_SERVER_VERSION,
  TEMPORAL_UI_VERSION,
  startCluster,
  temporalPorts,
} from '../../src/cluster/cluster.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('TEMPORAL_PORT and TEMPORAL_UI_PORT', () => {
  test('default to 7233 and 8233, as before', () => {
    const config = loadConfig({});
    assert.equal(config.temporalPort, 7233);
    assert.equal(config.temporalUiPort, 8233);
    assert.equal(config.temporalAddress, '127.0.0.1:7233');
    assert.equal(config.uiUrl, 'http://localhost:8233');
  });

  test('move the address, the UI port and the ui_url links together', () => {
    const config = loadConfig({ TEMPORAL_PORT: '17233' });
    assert.equal(config.temporalAddress, '127.0.0.1:17233');
    assert.equal(config.temporalUiPort, 18233);
    assert.equal(config.uiUrl, 'http://localhost:18233');
    const own = loadConfig({ TEMPORAL_PORT: '17233', TEMPORAL_UI_PORT: '9000' });
    assert.equal(own.uiUrl, 'http://localhost:9000');
    // An explicit address and UI URL win.
    const explicit = loadConfig({
      TEMPORAL_PORT: '17233',
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_UI_URL: 'http://ui/',
    });
    assert.equal(explicit.temporalAddress, 'temporal:7233');
    assert.equal(explicit.uiUrl, 'http://ui');
  });

  test('refuse values that are not ports, naming the variable', () => {
    for (const [name, value] of [
      ['TEMPORAL_PORT', 'abc'],
      ['TEMPORAL_PORT', '80'],
      ['TEMPORAL_PORT', '64001'],
      ['TEMPORAL_PORT', '7233.5'],
      ['TEMPORAL_UI_PORT', '70000'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        new RegExp(`invalid configuration: ${name}:`),
        `${name}=${value}`,
      );
    }
  });
});

test('startCluster refuses counts and ports out of bounds before starting anything, naming the option', async () => {
  for (const [options, message] of [
    [{ workers: -1 }, /^Error: workers: expected an integer 0 – 32 \(got -1\)/],
    [{ gateways: 1.5 }, /^Error: gateways: expected an integer 0 – 32/],
    [{ basePort: 80 }, /^Error: basePort: expected an integer 1024 – 64000/],
    [{ gatewayPort: 70000 }, /^Error: gatewayPort: expected an integer 1024 – 64000/],
  ] as const)
    await assert.rejects(startCluster({ ...options, log: () => undefined }), (err: Error) => message.test(String(err)));
});

describe('the cluster port layout', () => {
  test("matches Temporal's usual ports at 7233 and moves as one block", () => {
    const ports = temporalPorts(7233);
    assert.deepEqual(
      [ports.frontend, ports.history, ports.matching, ports.worker, ports.http],
      [7233, 7234, 7235, 7239, 7243],
    );
    assert.deepEqual(Object.values(ports.membership), [6933, 6934, 6935, 6939]);
    const other = temporalPorts(17233);
    const all = (p: ReturnType<typeof temporalPorts>) => [
      p.frontend,
      p.history,
      p.matching,
      p.worker,
      p.http,
      ...Object.values(p.membership),
      ...Object.values(p.metrics),
    ];
    assert.equal(new Set(all(ports)).size, all(ports).length, 'every port is distinct');
    assert.equal(all(ports).filter((p) => all(other).includes(p)).length, 0, 'two stacks 10000 apart share no port');
  });

  test('is the one the server config renders', () => {
    const config = readFileSync(join(root, 'deploy/temporal/config/weft-cluster.yaml'), 'utf8');
    for (const expression of [
      'grpcPort: {{ $base }}',
      'grpcPort: {{ add $base 1 }}',
      'grpcPort: {{ add $base 2 }}',
      'grpcPort: {{ add $base 6 }}',
      'httpPort: {{ add $base 10 }}',
      'membershipPort: {{ sub $base 300 }}',
      'membershipPort: {{ sub $base 299 }}',
      'membershipPort: {{ sub $base 298 }}',
      'membershipPort: {{ sub $base 294 }}',
    ])
      assert.ok(config.includes(expression), expression);
  });
});

interface ComposeService {
  image?: string;
  user?: string;
  environment?: Record<string, string | null> | string[];
  healthcheck?: { test: string[] | string };
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }> | string[];
  volumes?: (string | { source: string; target: string })[];
}

/** The compose file as Compose resolves it; where the plugin is missing, as the `yaml` package reads it (merge keys resolved). */
function readCompose(): { services: Record<string, ComposeService>; how: string } {
  const version = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  if (version.status === 0) {
    const result = spawnSync(
      'docker',
      ['compose', '-f', join(root, 'docker-compose.yml'), 'config', '--format', 'json'],
      {
        encoding: 'utf8',
        cwd: root,
      },
    );
    assert.equal(result.status, 0, `docker compose config failed:\n${result.stderr}`);
    return { ...(JSON.parse(result.stdout) as { services: Record<string, ComposeService> }), how: 'docker compose' };
  }
  // No Compose plugin here: the YAML itself, with its merge keys (`<<: *worker-env`) resolved.
  const parsed = parseYaml(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  return { ...parsed, how: 'yaml' };
}

function envOf(service: ComposeService): Record<string, string | null> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(
    env.map((entry) => [entry.split('=')[0] ?? entry, entry.split('=').slice(1).join('=') || null]),
  );
}

/** Every `process.env`/config variable name the project reads, from its sources. */
function knownVariables(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts'))
        for (const m of readFileSync(path, 'utf8').matchAll(/\b[A-Z][A-Z0-9_]{2,}\b/g)) names.add(m[0]);
    }
  };
  for (const dir of ['src', 'activities']) walk(join(root, dir));
  return names;
}

describe('docker-compose.yml', () => {
  const { services, how } = readCompose();

  test(`has the cluster's services (read with ${how})`, () => {
    for (const name of [
      'postgres',
      'temporal-schema',
      'temporal-frontend',
      'temporal-history',
      'temporal-matching',
      'temporal-worker',
      'temporal-namespace',
      'temporal-ui',
      'worker',
      'gateway',
    ])
      assert.ok(services[name], `service ${name}`);
  });

  test('runs each Temporal service in its own container of the pinned server on PostgreSQL', () => {
    const version = TEMPORAL_SERVER_VERSION.replace(/^v/, '');
    for (const [name, service] of [
      ['temporal-frontend', 'frontend'],
      ['temporal-history', 'history'],
      ['temporal-matching', 'matching'],
      ['temporal-worker', 'worker'],
    ] as const) {
      const s = services[name] as ComposeService;
      assert.equal(s.image, `temporalio/server:${version}`, name);
      const env = envOf(s);
      assert.equal(env.SERVICES, service, `${name} SERVICES`);
      assert.equal(env.DB, 'postgres12', `${name} DB`);
      assert.equal(env.POSTGRES_SEEDS, 'postgres', `${name} POSTGRES_SEEDS`);
      // The dynamic config it names is ours, mounted where the image looks.
      const file = String(env.DYNAMIC_CONFIG_FILE_PATH).replace(/^config\/dynamicconfig\//, '');
      assert.ok(
        existsSync(join(root, 'deploy/temporal/dynamicconfig', file)),
        `${name}: dynamic config ${file} exists`,
      );
      const mounts = (s.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[1] : v.target));
      assert.ok(mounts.includes('/etc/temporal/config/dynamicconfig'), `${name} mounts the dynamic config`);
      const deps = s.depends_on as Record<string, { condition: string }>;
      assert.equal(
        deps['temporal-schema']?.condition,
        'service_completed_successfully',
        `${name} waits for the schemas`,
      );
    }
    assert.equal(services['temporal-ui']?.image, `temporalio/ui:${TEMPORAL_UI_VERSION.replace(/^v/, '')}`);
  });

  test('runs several workers and the gateway as a non-root user, with health checks', () => {
    assert.ok((services.worker?.deploy?.replicas ?? 1) >= 2, 'at least two worker replicas');
    for (const name of ['worker', 'gateway']) assert.equal(services[name]?.user, 'node', `${name} user`);
    for (const name of ['postgres', 'temporal-frontend', 'worker', 'gateway'])
      assert.ok(services[name]?.healthcheck?.test, `${name} healthcheck`);
    assert.match(readFileSync(join(root, 'Dockerfile'), 'utf8'), /^USER node$/m, 'the image itself drops root');
  });

  test("gives weft's processes only variables weft reads, pointing at the cluster", () => {
    const known = knownVariables();
    for (const name of ['worker', 'gateway']) {
      const env = envOf(services[name] as ComposeService);
      for (const variable of Object.keys(env)) assert.ok(known.has(variable), `${name}: ${variable} is read by weft`);
      assert.equal(env.TEMPORAL_ADDRESS, 'temporal-frontend:7233', `${name} TEMPORAL_ADDRESS`);
      assert.match(String(env.DATABASE_URL), /^postgres:\/\/.+@postgres:5432\/weft$/, `${name} DATABASE_URL`);
    }
  });
});
