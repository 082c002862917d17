/**
 * Reads request bodies as bytes under two limits: `bodyLimit` per request (413) and
 * `maxBufferedBodyBytes` across all requests being received at once (503 OVERLOADED). The
 * second bounds memory against many slow clients each holding a large partial body: without
 * it 250 connections of ~4 MiB took the gateway from 495 MB to 1,089 MB RSS (issue 12).
 *
 * A body of more than one chunk is gathered into one block of its declared length (doubling
 * when the length is not declared), and each chunk node handed over is freed as soon as it is
 * copied; a body abandoned half-way frees its block at once. Freed at once, not at the next
 * garbage collection (an idle gateway may not run one for minutes): detaching an ArrayBuffer
 * frees its memory. One block per body rather than 64 KiB chunks lets malloc give the pages
 * back to the system when the block goes (blocks of 128 KiB and more are mmap'd with the
 * shipped `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072`); see README "Security" and
 * gateway/edge/held-bodies.test.ts for the figures.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { freeNow as release } from '../pipeline';
import { GatewayError } from '../transcode';

/** An empty `Content-Type:` is no type at all (the request is read as if it had none). */
export function dropEmptyContentType(headers: IncomingHttpHeaders): void {
  if (headers['content-type'] === '') delete headers['content-type'];
}

type Done = (err: Error | null, body?: Buffer) => void;

/** Reads bodies; one per server, so all bodies count against one budget. */
export interface BodyReader {
  /** A Fastify content-type parser function counting bytes against the shared budget. */
  parse: (req: unknown, payload: IncomingMessage, done: Done) => void;
  /** Bytes of bodies currently being received (for tests and metrics). */
  buffered(): number;
}

/** A body reader with its own budget. */
export function createBodyReader(bodyLimit: number, maxBufferedBodyBytes: number): BodyReader {
  let buffered = 0;
  const parse = (_req: unknown, payload: IncomingMessage, done: Done): void => {
    const declared = Number(payload.headers['content-length']);
    if (declared > bodyLimit) return done(new GatewayError('BODY_TOO_LARGE', 'request body is larger than the configured limit'));
    // The first chunk is kept as node gave it (most bodies are one chunk); from the second on, the block.
    let first: Buffer | undefined;
    let block: Buffer | undefined;
    let length = 0;
    let finished = false;
    const finish = (err: Error | null, body?: Buffer) => {
      if (finished) return;
      finished = true;
      buffered -= length;
      payload.removeListener('data', onData);
      if (err) {
        // Stop reading; the error answer goes out and the connection closes.
        payload.resume();
        if (first) release(first);
        if (block) release(block);
        first = block = undefined;
      }
      done(err, body);
    };
    const onData = (chunk: Buffer) => {
      const at = length;
      length += chunk.length;
      buffered += chunk.length;
      if (length > bodyLimit) return finish(new GatewayError('BODY_TOO_LARGE', 'request body is larger than the configured limit'));
      if (buffered > maxBufferedBodyBytes)
        return finish(new GatewayError('OVERLOADED', 'the gateway is receiving too many request bodies at once; retry later'));
      if (block === undefined && first === undefined) {
        first = chunk;
        return;
      }
      if (block === undefined || length > block.length) {
        // `>=`: the chunk that completes the declared length gets a block of exactly that length
        // (with `>` a two-chunk body of N bytes took a 2N block: 128 KiB for bench case 3's 64 KiB).
        const size = Math.min(bodyLimit, Math.max(length, declared >= length ? declared : 2 * length));
        const grown = Buffer.allocUnsafeSlow(size);
        const previous = (block ?? first)!;
        previous.copy(grown, 0, 0, at);
        release(previous);
        first = undefined;
        block = grown;
      }
      chunk.copy(block, at);
      release(chunk);
    };
    payload.on('data', onData);
    payload.on('end', () => finish(null, block ? block.subarray(0, length) : (first ?? Buffer.alloc(0))));
    payload.on('error', (err) => finish(err));
    // 'close' follows 'end' on every request: build the error (and its stack) only when it is one.
    payload.on('close', () => finished || finish(new GatewayError('BAD_REQUEST', 'the request body ended early')));
  };
  return { parse, buffered: () => buffered };
}
