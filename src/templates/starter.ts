/**
 * The starter library shipped with weft: eight templates a team can instantiate as they are.
 * Every tenant lists them (read-only: they cannot be deleted or replaced). Each one is
 * instantiated and run against local services in `test/e2e/starter-templates.test.ts`.
 */
import dataQualityCheck from './starter/data-quality-check.json' with { type: 'json' };
import documentSummary from './starter/document-summary.json' with { type: 'json' };
import incidentEscalation from './starter/incident-escalation.json' with { type: 'json' };
import nightlyFanoutReport from './starter/nightly-fanout-report.json' with { type: 'json' };
import orderSaga from './starter/order-saga.json' with { type: 'json' };
import paymentWait from './starter/payment-wait.json' with { type: 'json' };
import postgresHttpSync from './starter/postgres-http-sync.json' with { type: 'json' };
import webhookLeadEnrichment from './starter/webhook-lead-enrichment.json' with { type: 'json' };
import { Template } from './template-schema.js';

const FILES: readonly unknown[] = [
  webhookLeadEnrichment,
  orderSaga,
  nightlyFanoutReport,
  paymentWait,
  documentSummary,
  postgresHttpSync,
  incidentEscalation,
  dataQualityCheck,
];

/** The built-in templates by id, parsed once (a file that does not parse fails the gateway's start). */
export const STARTER_TEMPLATES: ReadonlyMap<string, Template> = new Map(
  FILES.map((file) => {
    const template = Template.parse(file);
    return [template.id, template] as const;
  }),
);
