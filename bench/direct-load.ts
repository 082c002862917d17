/**
 * The direct-gRPC reference, in its own process: the same calls as each HTTP case, made
 * straight to the backend with the gateway's lean h2 client (createH2Transport), in
 * a closed loop of `connections` calls in flight, as autocannon drives HTTP. Responses are
 * decoded with the static ts-proto codec, as a real client would. This is the ceiling.
 */
import { EchoMessage } from '../gen/acme/echo/v1/echo';
import { createH2Transport } from '../gateway/upstream/h2';
import type { CallStatus, Transport } from '../gateway/upstream/transport';
import { type BenchCase, benchCases } from './bench-cases';
import { announceReady, argValue, serveRequests } from './ipc';
import { windowStatsHandlers } from './process-stats';

/** One load window's figures, shaped like the HTTP ones. */
export interface LoadResult {
  /** Calls completed inside the window (successes and failures). */
  requests: number;
  errors: number;
  durationS: number;
  latencyMs: { p50: number; p99: number; max: number; mean: number };
}

function streamCall(transport: Transport, c: BenchCase): Promise<void> {
  return new Promise((resolve, reject) => {
    transport.serverStream(
      c.grpc!.path,
      c.grpc!.request,
      { metadata: [] },
      {
        onHeaders() {},
        onMessage(m) {
          EchoMessage.decode(m);
        },
        onEnd(status: CallStatus) {
          if (status.code === 0) resolve();
          else reject(new Error(status.message));
        },
      },
    );
  });
}

async function unaryCall(transport: Transport, c: BenchCase): Promise<void> {
  const r = await transport.unary(c.grpc!.path, c.grpc!.request, { metadata: [] });
  EchoMessage.decode(r.message);
}

/** Runs a closed loop for `durationMs`; calls completing after the window are not counted. */
export async function runLoad(transport: Transport, c: BenchCase, connections: number, durationMs: number): Promise<LoadResult> {
  const call = c.grpc!.streaming ? streamCall : unaryCall;
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      let failed = false;
      try {
        await call(transport, c);
      } catch {
        failed = true;
      }
      const t1 = performance.now();
      if (t1 > end) break;
      if (failed) errors++;
      else latencies.push(t1 - t0);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  latencies.sort((a, b) => a - b);
  const pick = (q: number): number => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : 0);
  const sum = latencies.reduce((a, b) => a + b, 0);
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    requests: latencies.length + errors,
    errors,
    durationS: durationMs / 1000,
    latencyMs: {
      p50: round(pick(0.5)),
      p99: round(pick(0.99)),
      max: round(latencies[latencies.length - 1] ?? 0),
      mean: round(latencies.length ? sum / latencies.length : 0),
    },
  };
}

function main(): void {
  const backend = argValue('backend');
  if (!backend) throw new Error('usage: direct-load --backend host:port');
  const transport = createH2Transport(backend);
  const cases = benchCases();
  serveRequests(
    {
      ...windowStatsHandlers(),
      run: (args) => {
        const c = cases.find((x) => x.n === args.caseN);
        if (!c) throw new Error(`no case ${String(args.caseN)}`);
        return runLoad(transport, c, args.connections as number, args.durationMs as number);
      },
    },
    () => transport.close(),
  );
  announceReady({});
}

main();
