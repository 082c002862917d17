/**
 * The tracing settings, read from the standard OpenTelemetry environment variables
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/) here and
 * nowhere else. The OTLP exporter itself reads its own OTEL_EXPORTER_OTLP_* variables
 * (endpoint, headers, timeout, compression) and the resource reads OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES; this file decides only whether to export at all, how to sample and
 * how to batch.
 *
 * Unlike the spec's default (OTLP to localhost:4318), nothing is exported unless an endpoint
 * is named or OTEL_TRACES_EXPORTER asks for one: a process with no OTEL_* variables loads no
 * SDK and pays nothing.
 */

import { StartupError } from './lifecycle';

type Env = Record<string, string | undefined>;

export type SamplerName = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

const SAMPLERS: readonly SamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];

export interface TelemetrySettings {
  /** Where spans go: OTLP over HTTP/protobuf, the console (debugging), or nowhere (no SDK loaded). */
  exporter: 'otlp' | 'console' | 'none';
  /** OTEL_TRACES_SAMPLER (default parentbased_always_on): an incoming sampled traceparent is kept. */
  sampler: SamplerName;
  /** OTEL_TRACES_SAMPLER_ARG: the ratio for the *traceidratio samplers (default 1). */
  samplerRatio: number;
  /** OTEL_BSP_MAX_QUEUE_SIZE (2048): spans waiting for export; beyond it new spans are dropped and counted, never waited for. */
  maxQueueSize: number;
  /** OTEL_BSP_MAX_EXPORT_BATCH_SIZE (512): spans per export request. */
  maxExportBatchSize: number;
  /** OTEL_BSP_SCHEDULE_DELAY (5000 ms): how long spans wait to be batched. */
  scheduledDelayMs: number;
  /** OTEL_BSP_EXPORT_TIMEOUT (30000 ms): an export that takes longer is abandoned. */
  exportTimeoutMs: number;
}

/** Thrown for a variable that is set to something we cannot honour; processes fail their start with it, in one line. */
export class TelemetryConfigError extends StartupError {}

/** Reads the settings; throws TelemetryConfigError naming the variable when one is invalid. */
export function telemetrySettings(env: Env = process.env): TelemetrySettings {
  return {
    exporter: exporterFrom(env),
    sampler: samplerFrom(env),
    samplerRatio: ratioFrom(env),
    maxQueueSize: positiveInt(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048),
    maxExportBatchSize: positiveInt(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512),
    scheduledDelayMs: positiveInt(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000),
    exportTimeoutMs: positiveInt(env, 'OTEL_BSP_EXPORT_TIMEOUT', 30_000),
  };
}

/** True when spans would be exported: what decides whether the SDK and the instrumentations load at all. */
export function tracingEnabled(env: Env = process.env): boolean {
  return exporterFrom(env) !== 'none';
}

function exporterFrom(env: Env): TelemetrySettings['exporter'] {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return 'none';
  const named = (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase();
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (named === '') {
    if (!endpoint) return 'none';
    checkProtocol(env);
    return 'otlp';
  }
  if (named === 'none' || named === 'otlp' || named === 'console') {
    if (named === 'otlp') checkProtocol(env);
    return named;
  }
  // A list ("otlp,console") or zipkin/jaeger: we ship one exporter, and say so rather than guess.
  throw new TelemetryConfigError(`OTEL_TRACES_EXPORTER must be otlp, console or none, got "${env.OTEL_TRACES_EXPORTER}"`);
}

function checkProtocol(env: Env): void {
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (protocol !== 'http/protobuf') {
    throw new TelemetryConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is supported, got "${protocol}"`);
  }
}

function samplerFrom(env: Env): SamplerName {
  const raw = (env.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase() || 'parentbased_always_on';
  if (!(SAMPLERS as readonly string[]).includes(raw)) {
    throw new TelemetryConfigError(`OTEL_TRACES_SAMPLER must be one of ${SAMPLERS.join(', ')}, got "${env.OTEL_TRACES_SAMPLER}"`);
  }
  return raw as SamplerName;
}

function ratioFrom(env: Env): number {
  const raw = env.OTEL_TRACES_SAMPLER_ARG;
  if (raw === undefined || raw.trim() === '') return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new TelemetryConfigError(`OTEL_TRACES_SAMPLER_ARG must be a number in [0, 1], got "${raw}"`);
  return n;
}

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new TelemetryConfigError(`${name} must be a positive integer, got "${raw}"`);
  return n;
}
