/**
 * Watches an upstream service's grpc.health.v1 status with the Watch stream (one open
 * stream per service, not a probe per /readyz request): the server pushes every change.
 * When the stream ends (the service went away), it is opened again after a short pause,
 * which also keeps a connection attempt going, so a returning service is seen (and its
 * connection ready) within about a second.
 * https://github.com/grpc/grpc/blob/master/doc/health-checking.md
 */
import { Cancellation, type CallStatus, type Metadata, type StreamSink, type Transport } from './transport';

/** The service's status as /readyz reports it. */
export type HealthStatus =
  | 'UNKNOWN' // not heard yet
  | 'SERVING'
  | 'NOT_SERVING'
  | 'SERVICE_UNKNOWN' // the server does not know this service name
  | 'UNREACHABLE' // no answer: connection refused or dropped
  | 'UNIMPLEMENTED'; // the server has no health service: reachable, taken as serving

const WATCH_PATH = '/grpc.health.v1.Health/Watch';
const STATUS_NAMES: Record<number, HealthStatus> = { 0: 'UNKNOWN', 1: 'SERVING', 2: 'NOT_SERVING', 3: 'SERVICE_UNKNOWN' };
const UNIMPLEMENTED = 12;

/** The watch of one service on one transport. */
export class HealthWatch implements StreamSink {
  status: HealthStatus = 'UNKNOWN';
  private cancellation: Cancellation | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly request: Uint8Array;

  constructor(
    private readonly transport: Transport,
    readonly service: string,
    private readonly onChange: (watch: HealthWatch, previous: HealthStatus) => void,
    /** Pause before watching again after the stream ended. */
    private readonly retryMs = 500,
    /** Pause when the server has no health service (it will not grow one soon). */
    private readonly unimplementedRetryMs = 30_000,
  ) {
    // HealthCheckRequest { string service = 1; }
    const name = Buffer.from(service, 'utf8');
    this.request = Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
  }

  /** True when calls may be sent: SERVING, or no health service to ask. */
  get serving(): boolean {
    return this.status === 'SERVING' || this.status === 'UNIMPLEMENTED';
  }

  start(): void {
    if (this.stopped) return;
    this.timer = undefined;
    this.cancellation = new Cancellation();
    this.transport.serverStream(WATCH_PATH, this.request, { metadata: [], signal: this.cancellation }, this);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.cancellation?.abort();
  }

  onHeaders(_headers: Metadata): void {}

  onMessage(message: Uint8Array): void {
    // HealthCheckResponse { ServingStatus status = 1; }: field 1, varint.
    let code = 0;
    if (message.length >= 2 && message[0] === 0x08) code = message[1] & 0x7f;
    this.set(STATUS_NAMES[code] ?? 'UNKNOWN');
  }

  onEnd(status: CallStatus): void {
    if (this.stopped) return;
    const unimplemented = status.code === UNIMPLEMENTED;
    this.set(unimplemented ? 'UNIMPLEMENTED' : 'UNREACHABLE');
    // A stream that ended normally or with an error: watch again soon. It must not hold
    // the process open on its own (the timer is unref'd).
    this.timer = setTimeout(() => this.start(), unimplemented ? this.unimplementedRetryMs : this.retryMs).unref();
  }

  private set(status: HealthStatus): void {
    const previous = this.status;
    this.status = status;
    if (previous !== status) this.onChange(this, previous);
  }
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
