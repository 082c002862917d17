/**
 * Reads a client- or bidi-streaming request body as it arrives: newline-delimited JSON,
 * each non-blank line one message, pushed to the call's MessageSource the moment its newline
 * arrives (grpc-gateway reads bidi bodies the same way). Backpressure: when the source is
 * full the request is paused (TCP then slows the client) until the upstream took messages.
 * A line longer than `maxLineBytes` (config bodyLimit) fails the call: 413.
 */
import type { IncomingMessage } from 'node:http';
import type { MessageSource } from '../pipeline';
import { GatewayError } from '../transcode';

const NEWLINE = 0x0a;

/**
 * Feeds `req`'s NDJSON lines into `source`; ends it at the body's end, fails it on a cut.
 * Each message (not a blank line) touches `idle`, the stream's idle clock.
 */
export function readNdjson(req: IncomingMessage, source: MessageSource, maxLineBytes: number, idle?: { touch(): void }): void {
  let partial: Buffer[] = [];
  let partialLength = 0;
  let done = false;

  const stop = (): void => {
    done = true;
    req.removeListener('data', onData);
    partial = [];
    // Nothing more is wanted: read the rest and drop it, so the connection stays usable.
    req.resume();
  };
  const fail = (err: GatewayError): void => {
    if (done) return;
    source.fail(err);
    stop();
  };
  const emit = (line: Buffer): void => {
    const json = trim(line);
    if (json.length === 0) return;
    idle?.touch();
    if (json.length > maxLineBytes) return fail(new GatewayError('BODY_TOO_LARGE', 'a request message is larger than the configured limit'));
    if (!source.push(json)) req.pause();
  };
  const onData = (chunk: Buffer): void => {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1 && !done; nl = chunk.indexOf(NEWLINE, start)) {
      let line = chunk.subarray(start, nl);
      if (partialLength > 0) {
        partial.push(line);
        line = Buffer.concat(partial, partialLength + line.length);
        partial = [];
        partialLength = 0;
      }
      start = nl + 1;
      emit(line);
    }
    if (done || start === chunk.length) return;
    partial.push(chunk.subarray(start));
    partialLength += chunk.length - start;
    if (partialLength > maxLineBytes + 2) fail(new GatewayError('BODY_TOO_LARGE', 'a request message is larger than the configured limit'));
  };

  source.onDrain(() => {
    if (!done) req.resume();
  });
  // The call ended first (the upstream answered or failed): stop reading messages.
  source.onCancel(stop);
  req.on('data', onData);
  req.once('end', () => {
    if (done) return;
    if (partialLength > 0) emit(Buffer.concat(partial, partialLength));
    done = true;
    source.end();
  });
  req.once('close', () => {
    if (!req.complete) fail(new GatewayError('BAD_REQUEST', 'the request body ended early'));
  });
}

/** `line` without JSON whitespace at either end (space, tab, CR). */
function trim(line: Buffer): Buffer {
  let start = 0;
  let end = line.length;
  while (start < end && isSpace(line[start])) start++;
  while (end > start && isSpace(line[end - 1])) end--;
  return start === 0 && end === line.length ? line : line.subarray(start, end);
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0d;
}
