/** When the OpenTelemetry SDK starts: only when the environment (or the caller) gives it somewhere to export. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTelemetry, tracingConfigured } from '../../src/telemetry/telemetry.js';

const cases: Array<{ env: NodeJS.ProcessEnv; traced: boolean }> = [
  { env: {}, traced: false },
  { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, traced: true },
  { env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, traced: true },
  { env: { OTEL_TRACES_EXPORTER: 'otlp' }, traced: true },
  { env: { OTEL_TRACES_EXPORTER: 'console' }, traced: true },
  { env: { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, traced: false },
  { env: { OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }, traced: false },
];

for (const { env, traced } of cases) {
  test(`${JSON.stringify(env)} ${traced ? 'exports traces' : 'starts nothing'}`, () => {
    assert.equal(tracingConfigured(env), traced);
  });
}

test('without an exporter or OTEL_* variables no SDK is started', () => {
  assert.equal(startTelemetry({ serviceName: 'weft-test', env: {} }), undefined);
});
