/** `npm run gateway`: the HTTP gateway alone, against the Temporal server in TEMPORAL_ADDRESS. */
import { loadConfig } from '../config.js';
import { startGateway } from '../gateway/server.js';
import { createLogger } from '../logger.js';
import { startTelemetry } from '../telemetry/telemetry.js';

const config = loadConfig();
const logger = createLogger('gateway', config.logLevel);
// Off (no SDK at all) unless the OTEL_* variables name an exporter.
const tracing = startTelemetry({ serviceName: 'weft-gateway' });
const gateway = await startGateway(config, logger, tracing ? { tracing } : {});
logger.info({ url: gateway.url, temporal: config.temporalAddress }, 'gateway listening');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    gateway
      .close()
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  });
}
