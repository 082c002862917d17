/**
 * The slow-reader scenario of issue 13: an upstream streams ~100 MB (100,000 messages of 1 KB,
 * the bench backend's Expand) to a client reading at 1 MB/s, through the gateway, over
 * HTTP/1.1 NDJSON and over WebSocket, with each upstream transport (h2, grpc-js). Every second
 * it samples the gateway's RSS (/proc), the bytes the upstream managed to send (its write()s
 * accepted, from the backend over IPC) and the bytes the client has read; the gap between the
 * last two is what waits between them (gateway, HTTP/2 windows, socket buffers). With
 * backpressure working, that gap stays near limits.streamBufferBytes + the transport's
 * window, and the gateway's RSS stays flat, for the whole stream.
 *
 *   npm run build && node dist/bench/slow-reader.js [--mb=100] [--rate=1] [--over=http,ws]
 *     [--transports=h2,grpc-js] [--stream-buffer-bytes=N] [--sample-ms=1000] [--out=FILE]
 *   npm run bench -- --slow-reader [--cases=…]   # the same, after the bench's cases
 *
 * `--stream-buffer-bytes=9007199254740991` switches the gateway's backpressure off (it never
 * finds its buffer full), to see what the bound is worth; the client then still reads 1 MB/s,
 * so stop it early with a smaller --mb. Each scenario takes mb / rate seconds.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { argValue, Child } from './ipc';
import { readHttpSlowly, readWsSlowly, type SlowRead } from './slow-read-client';

/** Options of one run; defaults are the figure. */
export interface SlowReaderOptions {
  /** Stream size, MB (10^6 bytes): messages of ~1 KB. */
  mb: number;
  /** Client read rate, MB/s. */
  rate: number;
  over: Array<'http' | 'ws'>;
  transports: Array<'h2' | 'grpc-js'>;
  /** limits.streamBufferBytes of the gateway (undefined: its default). */
  streamBufferBytes?: number;
  sampleMs: number;
  out: string;
}

/** One sample of a scenario. */
interface Sample {
  t: number;
  gatewayRssMb: number;
  upstreamSentMb: number;
  clientReadMb: number;
  /** Messages sent but not yet read, in the upstream's bytes: what waits on the way, MB. */
  gapMb: number;
}

/** A scenario's figures. */
export interface SlowReaderResult {
  over: 'http' | 'ws';
  transport: 'h2' | 'grpc-js';
  seconds: number;
  end: number;
  idleRssMb: number;
  peakRssMb: number;
  /** Highest gap (messages sent but not yet read, in upstream bytes) over the run, MB. */
  peakGapMb: number;
  sentMb: number;
  readMb: number;
  samples: Sample[];
}

const TEXT_BYTES = 1000;
const MB = 1e6;
const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? round(Number(m[1]) / 1024) : 0;
}

/** Parses argv into options (flags as `--name=value`). */
export function slowReaderOptions(argv: readonly string[]): SlowReaderOptions {
  const list = <T extends string>(name: string, dflt: string): T[] => (argValue(name, argv) ?? dflt).split(',').filter(Boolean) as T[];
  const buffer = argValue('stream-buffer-bytes', argv);
  return {
    mb: Number(argValue('mb', argv) ?? 100),
    rate: Number(argValue('rate', argv) ?? 1),
    over: list('over', 'http,ws'),
    transports: list('transports', 'h2,grpc-js'),
    streamBufferBytes: buffer === undefined ? undefined : Number(buffer),
    sampleMs: Number(argValue('sample-ms', argv) ?? 1000),
    out: path.resolve(argValue('out', argv) ?? path.join(__dirname, '..', '..', 'bench', 'results', 'slow-reader.json')),
  };
}

async function scenario(backend: Child, over: 'http' | 'ws', transport: 'h2' | 'grpc-js', o: SlowReaderOptions): Promise<SlowReaderResult> {
  const args = ['--backend', `127.0.0.1:${backend.ready.port}`, '--transport', transport];
  if (o.streamBufferBytes !== undefined) args.push('--stream-buffer-bytes', String(o.streamBufferBytes));
  const gateway = await Child.start(`gateway-${transport}`, 'gateway-server', args);
  try {
    const count = Math.round((o.mb * MB) / TEXT_BYTES);
    const query = `/v1/expand?count=${count}&text=${'x'.repeat(TEXT_BYTES)}`;
    const base = `127.0.0.1:${gateway.ready.port}`;
    // A short stream first, so first-use allocations (codecs, the upstream connection) are not counted as growth.
    const warm = over === 'http' ? readHttpSlowly(`http://${base}/v1/expand?count=100`, Infinity) : readWsSlowly(`ws://${base}/v1/expand?count=100`, Infinity);
    await warm.done;
    const idleRssMb = rssMb(gateway.ready.pid);
    const started = performance.now();
    const client: SlowRead = over === 'http' ? readHttpSlowly(`http://${base}${query}`, o.rate * MB) : readWsSlowly(`ws://${base}${query}`, o.rate * MB);
    const samples: Sample[] = [];
    let ended = false;
    const end = client.done.then(
      (r) => r.status,
      () => -1,
    );
    void end.then(() => (ended = true));
    const label = `${over.padEnd(4)} ${transport.padEnd(7)}`;
    while (!ended) {
      await Promise.race([end, new Promise((r) => setTimeout(r, o.sampleMs))]);
      const sent = await backend.request<{ bytes: number; messages: number }>('expand-sent');
      const perMessage = sent.messages > 0 ? sent.bytes / sent.messages : 0;
      const s: Sample = {
        t: round((performance.now() - started) / 1000),
        gatewayRssMb: rssMb(gateway.ready.pid),
        upstreamSentMb: round(sent.bytes / MB, 2),
        clientReadMb: round(client.bytes / MB, 2),
        gapMb: round(((sent.messages - client.messages) * perMessage) / MB, 2),
      };
      samples.push(s);
      if (samples.length % 10 === 0 || ended)
        console.log(
          `${label} t=${String(s.t).padStart(5)} s  gateway RSS ${s.gatewayRssMb} MB  upstream sent ${s.upstreamSentMb} MB  client read ${s.clientReadMb} MB  gap ${s.gapMb} MB`,
        );
    }
    return {
      over,
      transport,
      seconds: round((performance.now() - started) / 1000),
      end: await end,
      idleRssMb,
      peakRssMb: Math.max(...samples.map((s) => s.gatewayRssMb)),
      peakGapMb: Math.max(...samples.map((s) => s.gapMb)),
      sentMb: samples.at(-1)!.upstreamSentMb,
      readMb: samples.at(-1)!.clientReadMb,
      samples,
    };
  } finally {
    await gateway.stop();
  }
}

/** Runs every (over, transport) scenario in turn; prints a summary table and writes o.out. */
export async function runSlowReader(o: SlowReaderOptions): Promise<SlowReaderResult[]> {
  console.log(
    `\nslow reader: ${o.mb} MB (${Math.round((o.mb * MB) / TEXT_BYTES).toLocaleString('en-US')} messages of ~1 KB) read at ${o.rate} MB/s, ` +
      `limits.streamBufferBytes ${o.streamBufferBytes ?? 'default (262144)'}; ~${Math.ceil((o.over.length * o.transports.length * o.mb) / o.rate / 60)} min`,
  );
  const backend = await Child.start('backend', 'echo-server', []);
  const results: SlowReaderResult[] = [];
  try {
    for (const over of o.over) for (const transport of o.transports) results.push(await scenario(backend, over, transport, o));
  } finally {
    await backend.stop();
  }
  console.log('\n| over | transport | s | end | gateway RSS idle -> peak MB | peak gap sent-read MB | upstream sent MB | client read MB |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results)
    console.log(
      `| ${r.over} | ${r.transport} | ${r.seconds} | ${r.end} | ${r.idleRssMb} -> ${r.peakRssMb} (+${round(r.peakRssMb - r.idleRssMb)}) | ${r.peakGapMb} | ${r.sentMb} | ${r.readMb} |`,
    );
  mkdirSync(path.dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, options: o, results }, null, 2)}\n`);
  console.log(`\nwrote ${o.out}`);
  return results;
}

if (require.main === module) {
  runSlowReader(slowReaderOptions(process.argv.slice(2))).catch((err: unknown) => {
    console.error('slow-reader failed:', err);
    process.exit(1);
  });
}
