/**
 * Imported for its effect, FIRST in a process's entry file (before anything loads
 * @grpc/grpc-js): when tracing is configured (OTEL_* variables, see telemetry-config.ts) it
 * installs @opentelemetry/instrumentation-grpc, which patches grpc-js as it is required: a
 * SERVER span per call (continuing the caller's traceparent from the metadata) and a CLIENT
 * span per call a service makes itself. It records into whichever tracer provider
 * startTelemetry() registers later, so the service name is chosen there. With tracing off
 * it loads nothing.
 *
 * The gateway does not import this: its pipeline makes the client span itself, once, for
 * either transport (see gateway/observability/tracing.ts).
 */
import { tracingEnabled } from './telemetry-config';

if (tracingEnabled()) {
  const { registerInstrumentations } = require('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
  const { GrpcInstrumentation } = require('@opentelemetry/instrumentation-grpc') as typeof import('@opentelemetry/instrumentation-grpc');
  // Health checks and reflection would be noise in every trace view.
  registerInstrumentations({ instrumentations: [new GrpcInstrumentation({ ignoreGrpcMethods: ['Check', 'Watch', 'ServerReflectionInfo'] })] });
}
