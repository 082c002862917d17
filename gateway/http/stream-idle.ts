/**
 * A stream's idle timeout (config `limits.streamIdleTimeoutMs`, Envoy's stream_idle_timeout):
 * a stream that carries no message either way (no response message from the upstream, no
 * request message from the client) for that long is ended by the adapter, which answers
 * DEADLINE_EXCEEDED `STREAM_IDLE_TIMEOUT` and cancels the upstream call. What is not a
 * message does not count: SSE `: keep-alive` comments, WebSocket pings and pongs, blank NDJSON
 * lines. A stream stuck behind a reader that stopped reading (the upstream paused) is idle too,
 * as in Envoy: its memory is freed rather than held for ever.
 *
 * touch() only sets a flag (a clock read per message cost ~250 ns on this machine): a timer
 * ticks four times per timeout and counts the quiet ticks, so a stream ends between the timeout
 * and a quarter of it later, and a busy stream costs no clock or timer work per message.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../transcode';

/** The idle clock of one stream; onIdle runs once, after at least `ms` without touch(). */
export class IdleTimer {
  /** A message went either way since the last tick. */
  private touched = false;
  /** Quiet time counted so far, in whole ticks. */
  private quiet = 0;
  private readonly tick: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {
    this.tick = Math.max(1, Math.ceil(ms / TICKS));
    this.timer = setInterval(check, this.tick, this).unref();
  }

  /** A message went either way. */
  touch(): void {
    this.touched = true;
  }

  /** The stream ended: the timer is dropped. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A tick: quiet since the last one counts; `ms` of it ends the stream. */
  check(): void {
    if (this.timer === undefined) return;
    if (this.touched) {
      this.touched = false;
      this.quiet = 0;
      return;
    }
    this.quiet += this.tick;
    if (this.quiet < this.ms) return;
    this.stop();
    this.onIdle();
  }
}

/** Ticks per timeout: a stream is ended between `ms` and `ms` plus a quarter of it after its last message. */
const TICKS = 4;

function check(timer: IdleTimer): void {
  timer.check();
}

/** An idle timer for a stream, or none when the timeout is off (0). */
export function idleTimer(ms: number, onIdle: () => void): IdleTimer | undefined {
  return ms > 0 ? new IdleTimer(ms, onIdle) : undefined;
}

/** The error an idle stream ends with. */
export function idleTimeoutError(ms: number): GatewayError {
  return new GatewayError('STREAM_IDLE_TIMEOUT', `no message either way for ${ms} ms`);
}

/**
 * An HTTP stream ended for idleness may still have a request body open that will never end:
 * its connection closes once the answer is out (`Connection: close` while the head is unsent),
 * rather than wait for the rest of the body.
 */
export function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete) return;
  if (!res.headersSent) res.setHeader('connection', 'close');
  else res.once('finish', () => req.socket.destroySoon());
}
