/**
 * A stream's idle timeout (config `limits.streamIdleTimeoutMs`, Envoy's stream_idle_timeout):
 * a stream that carries no message either way (no response message from the upstream, no
 * request message from the client) for that long is ended by the adapter, which answers
 * DEADLINE_EXCEEDED `STREAM_IDLE_TIMEOUT` and cancels the upstream call. What is not a
 * message does not count: SSE `: keep-alive` comments, WebSocket pings and pongs, blank NDJSON
 * lines. A stream stuck behind a reader that stopped reading (the upstream paused) is idle too,
 * as in Envoy: its memory is freed rather than held for ever.
 *
 * touch() only stores the time: the timer is armed once and, when it fires early (there was
 * activity), armed again for what is left, so a busy stream costs no timer work per message.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../transcode';

/** The idle clock of one stream; onIdle runs once, after `ms` without touch(). */
export class IdleTimer {
  private last = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {
    this.timer = setTimeout(check, ms, this).unref();
  }

  /** A message went either way. */
  touch(): void {
    this.last = Date.now();
  }

  /** The stream ended: the timer is dropped. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The timer fired: idle for `ms`, or armed again for the rest. */
  check(): void {
    if (this.timer === undefined) return;
    const left = this.last + this.ms - Date.now();
    if (left > 0) {
      this.timer = setTimeout(check, left, this).unref();
      return;
    }
    this.timer = undefined;
    this.onIdle();
  }
}

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
