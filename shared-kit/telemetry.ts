/**
 * The one OpenTelemetry setup for the gateway and the services: a tracer provider with the
 * W3C trace-context propagator, AsyncLocalStorage context, the sampler and a batching OTLP
 * (HTTP/protobuf) exporter, all as configured by the standard OTEL_* variables
 * (telemetry-config.ts). With no exporter configured nothing is loaded and nothing is
 * registered: the API's no-op tracer answers, at no cost.
 *
 * A collector that is down or slow never reaches a request: ending a span only appends it to
 * the batch processor's bounded queue (OTEL_BSP_MAX_QUEUE_SIZE); a full queue drops the span
 * and counts it; exports run in the background with a timeout. Failures are counted and
 * logged at most once a minute.
 */
import type { Tracer } from '@opentelemetry/api';
import { telemetrySettings, type TelemetrySettings } from './telemetry-config';

/** What happened to finished spans, for /metrics: exported, failed to export, dropped (queue full). */
export interface SpanExportStats {
  exported: number;
  failed: number;
  dropped: number;
}

export interface Telemetry {
  /** False when nothing is exported: callers skip span work entirely. */
  readonly enabled: boolean;
  /** The tracer for this process's own spans (a no-op tracer when disabled). */
  readonly tracer: Tracer;
  readonly stats: Readonly<SpanExportStats>;
  /** Exports what is queued and stops, within SHUTDOWN_FLUSH_MS. Safe to call twice. */
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  /** service.name when OTEL_SERVICE_NAME does not say (e.g. `acme-user`). */
  defaultServiceName: string;
  /** Where export failures are reported (rate-limited). */
  warn: (msg: string) => void;
  /** Settings; read from the environment when absent. */
  settings?: TelemetrySettings;
}

const FAILURE_LOG_INTERVAL_MS = 60_000;
/**
 * How long a stopping process waits for its last spans to be exported. Shorter than the
 * lifecycle watchdog's margin (3 s past the grace period, lifecycle.ts), so a collector that
 * hangs costs the exit this much and never turns a clean stop into the watchdog's exit 1
 * (the exporter's own timeout is 10 s, the batch processor's 30 s).
 */
export const SHUTDOWN_FLUSH_MS = 2000;
const TRACER_NAME = 'acme';

let current: Telemetry | undefined;

/** The telemetry of this process (started once: a process has one global tracer provider). */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (current) return current;
  const settings = options.settings ?? telemetrySettings();
  current = settings.exporter === 'none' ? disabledTelemetry() : enabledTelemetry(settings, options);
  return current;
}

/** The process's telemetry if started, else a disabled one (tests and code paths that never start it). */
export function activeTelemetry(): Telemetry {
  return current ?? disabledTelemetry();
}

function disabledTelemetry(): Telemetry {
  return {
    enabled: false,
    // Nothing reads it when disabled (tracing is composed only when enabled): the API (~1 MB of
    // RSS) is loaded if something does.
    get tracer() {
      const { trace } = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
      return trace.getTracer(TRACER_NAME);
    },
    stats: { exported: 0, failed: 0, dropped: 0 },
    shutdown: async () => {},
  };
}

function enabledTelemetry(settings: TelemetrySettings, options: TelemetryOptions): Telemetry {
  // Loaded only here: a process that exports nothing never loads the SDK.
  const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const core = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const sdk = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  const resources = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');

  const stats: SpanExportStats = { exported: 0, failed: 0, dropped: 0 };
  let lastFailureLog = 0;
  let unreported = 0;
  core.setGlobalErrorHandler((err) => {
    // Export failures arrive here (a refused connection, a timeout); one line a minute at most.
    unreported++;
    const now = Date.now();
    if (now - lastFailureLog < FAILURE_LOG_INTERVAL_MS) return;
    lastFailureLog = now;
    options.warn(`trace export failing (${unreported} failure(s) since the last report; spans are dropped, requests unaffected): ${errorText(err)}`);
    unreported = 0;
  });

  const exporter =
    settings.exporter === 'console'
      ? new sdk.ConsoleSpanExporter()
      : new (require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  const processor = new sdk.BatchSpanProcessor({
    exporter,
    maxQueueSize: settings.maxQueueSize,
    maxExportBatchSize: Math.min(settings.maxExportBatchSize, settings.maxQueueSize),
    scheduledDelayMillis: settings.scheduledDelayMs,
    exportTimeoutMillis: settings.exportTimeoutMs,
    selfObsMeterProvider: countingMeterProvider(api, stats),
  });
  const resource = resources
    .resourceFromAttributes({ 'service.name': options.defaultServiceName })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.TracerProvider({ resource, sampler: sampler(sdk, settings), spanProcessors: [processor] });

  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(new core.CompositePropagator({ propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()] }));
  api.trace.setGlobalTracerProvider(provider);

  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    tracer: provider.getTracer(TRACER_NAME),
    stats,
    shutdown: () => (stopping ??= flushWithin(provider.shutdown(), SHUTDOWN_FLUSH_MS, options.warn)),
  };
}

function sampler(sdk: typeof import('@opentelemetry/sdk-trace'), s: TelemetrySettings): import('@opentelemetry/sdk-trace').Sampler {
  const ratio = () => new sdk.TraceIdRatioBasedSampler(s.samplerRatio);
  switch (s.sampler) {
    case 'always_on':
      return new sdk.AlwaysOnSampler();
    case 'always_off':
      return new sdk.AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_off':
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new sdk.ParentBasedSampler({ root: ratio() });
    case 'parentbased_always_on':
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
  }
}

/**
 * The batch processor reports each finished span to `otel.sdk.processor.span.processed`
 * through the (experimental, public) selfObsMeterProvider option, with `error.type`
 * `queue_full` for a drop and the export error's name for a failure. This meter counts those
 * into `stats`; every other instrument is the API's no-op.
 */
function countingMeterProvider(api: typeof import('@opentelemetry/api'), stats: SpanExportStats): import('@opentelemetry/api').MeterProvider {
  const noop = api.createNoopMeter();
  const meter = Object.create(noop) as import('@opentelemetry/api').Meter;
  meter.createCounter = (name, opts) => {
    if (name !== 'otel.sdk.processor.span.processed') return noop.createCounter(name, opts);
    return {
      add(value, attributes) {
        const error = attributes?.['error.type'];
        if (error === undefined) stats.exported += value;
        else if (error === 'queue_full') stats.dropped += value;
        else stats.failed += value;
      },
    };
  };
  return { getMeter: () => meter };
}

/** `flushing`, given up after `ms` (with a warning): the spans still queued then are lost. */
function flushWithin(flushing: Promise<void>, ms: number, warn: (msg: string) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      warn(`trace export at shutdown did not finish within ${ms} ms: the last spans are lost`);
      resolve();
    }, ms);
    timer.unref();
  });
  return Promise.race([flushing.catch(() => {}), late]).finally(() => clearTimeout(timer));
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

/** `running` whose close() also flushes and stops `telemetry` (for a process's main). */
export function closingTelemetry<T extends { close(): Promise<void> }>(running: T, telemetry: Telemetry): T {
  const close = running.close.bind(running);
  return Object.assign(running, { close: () => close().finally(() => telemetry.shutdown()) });
}
