/**
 * A client that reads a server stream at a fixed rate, for the slow-reader bench and its
 * bounded test (gateway/http/slow-reader.test.ts): node:http for NDJSON, `ws` for WebSocket.
 * Each chunk (or frame) is counted as it arrives; once the bytes read run ahead of
 * `bytesPerSecond`, the response (or socket) is paused until the schedule catches up, so
 * the client's socket stops being read and TCP pushes back on the gateway, as a slow mobile
 * client or a busy consumer would. `bytesPerSecond` 0 reads nothing until resume().
 */
import * as http from 'node:http';
import WebSocket from 'ws';

/** A stream being read slowly. */
export interface SlowRead {
  /** Response bytes read so far (NDJSON lines, or WebSocket frames' payloads). */
  readonly bytes: number;
  /** Stream messages read so far (NDJSON lines, or WebSocket text frames). */
  readonly messages: number;
  /** Reads as fast as the data comes from now on. */
  resume(): void;
  /** Closes the connection (the gateway cancels the upstream). */
  close(): void;
  /** The end: the HTTP status or WebSocket close code, and the HTTP trailers if any. */
  readonly done: Promise<{ status: number; trailers: Record<string, string | undefined> }>;
}

/** Paces `pause`/`resume` so that `bytes` stays at or below `bytesPerSecond` since the start. */
function pacer(bytesPerSecond: number, pause: () => void, resume: () => void): { add(n: number): void; unthrottle(): void; stop(): void } {
  const start = performance.now();
  let bytes = 0;
  let limit = bytesPerSecond;
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    timer = undefined;
    if (limit === Infinity) return resume();
    const ahead = bytes / limit - (performance.now() - start) / 1000;
    if (ahead <= 0) return resume();
    pause();
    timer = setTimeout(check, Math.min(ahead * 1000, 1000));
  };
  return {
    add(n) {
      bytes += n;
      if (timer === undefined) check();
    },
    unthrottle() {
      limit = Infinity;
      clearTimeout(timer);
      check();
    },
    stop: () => clearTimeout(timer),
  };
}

/** GETs `url` (an NDJSON stream) and reads it at `bytesPerSecond`. */
export function readHttpSlowly(url: string, bytesPerSecond: number, headers: Record<string, string> = {}): SlowRead {
  let bytes = 0;
  let messages = 0;
  let res: http.IncomingMessage | undefined;
  let pace: ReturnType<typeof pacer> | undefined;
  const req = http.get(url, { agent: false, headers });
  const done = new Promise<{ status: number; trailers: Record<string, string | undefined> }>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (r) => {
      res = r;
      pace = pacer(
        bytesPerSecond,
        () => r.pause(),
        () => r.resume(),
      );
      if (bytesPerSecond === 0) r.pause();
      r.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) messages++;
        if (bytesPerSecond !== 0) pace!.add(chunk.length);
      });
      r.on('error', reject);
      r.on('close', () => {
        pace?.stop();
        resolve({ status: r.statusCode ?? 0, trailers: r.trailers });
      });
    });
  });
  return {
    get bytes() {
      return bytes;
    },
    get messages() {
      return messages;
    },
    resume() {
      if (pace) pace.unthrottle();
      bytesPerSecond = Infinity;
      res?.resume();
    },
    close: () => req.destroy(),
    done,
  };
}

/** Opens a WebSocket to `url` (ws://…, a server stream) and reads it at `bytesPerSecond`. */
export function readWsSlowly(url: string, bytesPerSecond: number): SlowRead {
  let bytes = 0;
  let messages = 0;
  const socket = new WebSocket(url, { perMessageDeflate: false });
  const pace = pacer(
    bytesPerSecond,
    () => socket.pause(),
    () => socket.resume(),
  );
  if (bytesPerSecond === 0) socket.once('open', () => socket.pause());
  socket.on('message', (data: Buffer) => {
    bytes += data.length;
    messages++;
    if (bytesPerSecond !== 0) pace.add(data.length);
  });
  const done = new Promise<{ status: number; trailers: Record<string, string | undefined> }>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', (code) => {
      pace.stop();
      resolve({ status: code, trailers: {} });
    });
  });
  return {
    get bytes() {
      return bytes;
    },
    get messages() {
      return messages;
    },
    resume() {
      bytesPerSecond = Infinity;
      pace.unthrottle();
    },
    close: () => socket.terminate(),
    done,
  };
}
