/**
 * The local services the starter templates run against (test/e2e/starter-templates.test.ts and
 * the Studio gallery test): a real HTTP server standing in for the CRM, shop, billing, pager and
 * warehouse APIs, the real PostgreSQL (a least-privilege role on a database of its own, with a
 * `customers` table) and a local OpenAI-compatible server for the `ai` nodes. Start them before
 * the test stack: the worker's connectors and AI client read the environment set here.
 */
import pg from 'pg';
import { allowEgress } from './egress.js';
import { startFakeOpenAi, type FakeOpenAi } from './fake-openai.js';
import { json, startHttpTarget, type HttpTarget, type RecordedRequest } from './http-target.js';
import { createLeastPrivilegeRole, createTestDatabase, type TestDatabase, type TestRole } from './postgres.js';

/** Usage events per billing account, as the billing API answers them. */
export const USAGE: Record<string, number> = { a1: 10, a2: 20, a3: 30 };

export interface StarterServices {
  target: HttpTarget;
  openai: FakeOpenAi;
  database: TestDatabase;
  role: TestRole;
  /** The JSON bodies POSTed to `path` of the HTTP target, in order. */
  bodiesOf(path: string): Array<Record<string, any>>;
  close(): Promise<void>;
}

export async function startStarterServices(): Promise<StarterServices> {
  const openai = await startFakeOpenAi();
  const database = await createTestDatabase();
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  try {
    await admin.query('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT)');
    await admin.query(
      "INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com'), (2, 'Grace', 'grace@example.com'), (3, 'Edsger', NULL)",
    );
  } finally {
    await admin.end();
  }
  const role = await createLeastPrivilegeRole(database.url);
  await role.grantTable('customers');
  // The worker's connectors and AI client read these when the stack's worker starts.
  process.env.WEFT_POSTGRES_URL = role.url;
  process.env.OPENAI_BASE_URL = openai.url;
  process.env.OPENAI_API_KEY = openai.apiKey;
  const revokePostgres = allowEgress('127.0.0.1:5432');
  const ok = (body: unknown) => (_req: RecordedRequest, res: Parameters<typeof json>[0]) => json(res, 200, body);
  const target = await startHttpTarget({
    '/crm/companies': ok({ name: 'Acme', employees: 5000 }),
    '/crm/leads': ok({ id: 'L-1' }),
    '/crm/nurture': ok({ queued: true }),
    '/crm/contacts': (_req, res, nth) => (nth === 1 ? json(res, 503, { error: 'busy' }) : json(res, 200, {})),
    '/shop/inventory/reservations': ok({ id: 'R-1' }),
    '/shop/inventory/reservations/release': ok({ released: true }),
    '/shop/payments': ok({ id: 'P-1' }),
    '/shop/payments/refund': ok({ refunded: true }),
    '/shop/shipments': (req, res) =>
      (JSON.parse(req.body) as { order_id: string }).order_id === 'O-FAIL'
        ? json(res, 422, { error: 'no courier for this address' })
        : json(res, 200, { id: 'S-1' }),
    '/shop/payment-links': ok({ url: 'https://pay.example.com/x' }),
    '/shop/orders/O-PAID/fulfil': ok({ fulfilled: true }),
    '/shop/orders/O-LATE/cancel': ok({ cancelled: true }),
    '/billing/accounts': ok({ accounts: Object.keys(USAGE).map((id) => ({ id })) }),
    ...Object.fromEntries(
      Object.entries(USAGE).map(([id, events]) => [`/billing/accounts/${id}/usage`, ok({ events })]),
    ),
    '/billing/status': ok({ status: 'ok' }),
    '/reports/usage': ok({}),
    '/docs/handbook.txt': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('Our on-call handbook: page early, write things down, and hand over cleanly.');
    },
    '/docs/summaries': ok({}),
    '/pager/pages': ok({ paged: true }),
    '/pager/status': ok({}),
    '/warehouse/good.json': ok({ rows: [{ email: 'a@x' }, { email: 'b@x' }, { email: 'c@x' }] }),
    '/warehouse/bad.json': ok({ rows: [{ email: 'a@x' }, { email: null }, {}, { email: 'd@x' }] }),
    '/warehouse/publish': ok({}),
  });
  return {
    target,
    openai,
    database,
    role,
    bodiesOf: (path) =>
      target.requests.filter((r) => r.path === path).map((r) => JSON.parse(r.body) as Record<string, any>),
    async close() {
      await target.close();
      await openai.close();
      revokePostgres();
      await role.drop();
      await database.drop();
    },
  };
}
