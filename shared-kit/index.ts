/** What the gateway and the services share. Import this folder, not its files (except grpc-instrumentation, imported for its effect). */
export { activeTelemetry, closingTelemetry, startTelemetry, type SpanExportStats, type Telemetry, type TelemetryOptions } from './telemetry';
export { TelemetryConfigError, telemetrySettings, tracingEnabled, type SamplerName, type TelemetrySettings } from './telemetry-config';
