/**
 * A real HTTP/1.1 client for streamed request bodies: a node:http request whose chunked body
 * the test writes piece by piece while it reads the NDJSON response line by line.
 */
import * as http from 'node:http';
import type { JsonBody } from './http-client';

export interface NdjsonStream {
  /** Writes one request line (JSON.stringify'd unless a string). */
  send(message: unknown): void;
  /** Ends the request body (the gateway half-closes the upstream). */
  end(): void;
  /** Resolves with the next response line, parsed; rejects when the response ended first. */
  next(): Promise<JsonBody>;
  /** Every response line once the response has ended. */
  rest(): Promise<JsonBody[]>;
  /** Resolves with the response head. */
  readonly response: Promise<http.IncomingMessage>;
  /** Closes the connection. */
  destroy(): void;
  readonly request: http.ClientRequest;
}

/** Opens a POST to `url` with a chunked body and `headers`. */
export function openNdjsonStream(url: string, headers: Record<string, string> = {}): NdjsonStream {
  const request = http.request(url, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...headers } });
  request.on('error', () => undefined);
  const lines: JsonBody[] = [];
  const waiters: Array<{ resolve: (line: JsonBody) => void; reject: (err: Error) => void }> = [];
  let ended = false;
  let onEnd: () => void = () => undefined;
  const endedPromise = new Promise<void>((resolve) => (onEnd = resolve));
  const finish = () => {
    ended = true;
    for (const w of waiters.splice(0)) w.reject(new Error('the response ended'));
    onEnd();
  };
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once('response', (res) => {
      resolve(res);
      let partial = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        partial += chunk;
        for (let nl = partial.indexOf('\n'); nl !== -1; nl = partial.indexOf('\n')) {
          const line = JSON.parse(partial.slice(0, nl)) as JsonBody;
          partial = partial.slice(nl + 1);
          const waiter = waiters.shift();
          if (waiter) waiter.resolve(line);
          else lines.push(line);
        }
      });
      res.on('end', () => {
        // A unary answer (client streams) is one JSON document without a newline.
        if (partial.trim() !== '') lines.push(JSON.parse(partial) as JsonBody);
        finish();
      });
      res.on('close', finish);
    });
    request.once('error', (err) => {
      reject(err);
      finish();
    });
  });
  request.flushHeaders();
  return {
    request,
    response,
    send: (message) => request.write(typeof message === 'string' ? message : `${JSON.stringify(message)}\n`),
    end: () => request.end(),
    next: () => {
      if (lines.length > 0) return Promise.resolve(lines.shift()!);
      if (ended) return Promise.reject(new Error('the response ended'));
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    rest: async () => {
      await endedPromise;
      return lines.splice(0);
    },
    destroy: () => request.destroy(),
  };
}
