/** What every process (gateway, services, launcher) shares. Import this folder, not its files (except grpc-instrumentation, imported for its effect). */
export {
  createLogger,
  isPretty,
  prettyPrinter,
  DEFAULT_LOG_SETTINGS,
  LOG_FORMATS,
  LOG_LEVELS,
  loggerOptions,
  parseLogFormat,
  silentLogger,
  type LogFormat,
  type Logger,
  type LogSettings,
} from './log';
export { announceReady, closeOnSignals, LAUNCHED_ENV, runMain, StartupError, WATCHDOG_MARGIN_MS, type ReadyMessage, type ShutdownOptions } from './lifecycle';
export { checkPortFree, listenError, lockFile, probePort, splitHostPort } from './startup-checks';
export { activeTelemetry, closingTelemetry, startTelemetry, type SpanExportStats, type Telemetry, type TelemetryOptions } from './telemetry';
export { TelemetryConfigError, telemetrySettings, tracingEnabled, type SamplerName, type TelemetrySettings } from './telemetry-config';
export { bearerToken } from './bearer';
export { grpcCodeName } from './grpc-code-name';
export { createRuleChecks, type FieldNaming, type RuleCheck, type RuleViolation } from './request-rules';
