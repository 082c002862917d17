/**
 * Small helpers for the gateway's end-to-end tests: a node:http client for what fetch will
 * not send (raw header bytes, hop-by-hop headers, an early disconnect), response readers,
 * and polling for effects that land on the backend shortly after the HTTP answer.
 */
import * as http from 'node:http';
import { contractFor, ContractError } from './contract';

/** The transports every end-to-end table runs against. */
export const TRANSPORTS = ['h2', 'grpc-js'] as const;

/** A response read to its end by `rawRequest`. */
export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * Sends one request with node:http, headers written as given (latin1 for strings). The
 * exchange must fit the OpenAPI document of the gateway at that address, when one is
 * registered (test-support/contract.ts).
 */
export async function rawRequest(
  url: string,
  init: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer } = {},
): Promise<RawResponse> {
  const res = await sendRaw(url, init);
  const contract = contractFor(url);
  if (contract) {
    const u = new URL(url);
    const contentType = res.headers['content-type'];
    const problems = contract.check(
      { method: init.method ?? 'GET', url: u.pathname + u.search, body: init.body },
      { status: res.status, contentType, body: res.body.toString('utf8') },
    );
    if (problems.length > 0) throw new ContractError(problems);
  }
  return res;
}

function sendRaw(url: string, init: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Opens a streaming GET and destroys the request once the first chunk of the body arrives. */
export function disconnectAfterFirstChunk(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      res.once('data', (chunk: Buffer) => {
        req.destroy();
        resolve(chunk.toString('utf8'));
      });
      res.on('error', () => {
        /* the destroy above aborts the response */
      });
    });
    req.on('error', (err) => {
      if (!req.destroyed) reject(err);
    });
  });
}

/** Resolves once `check` is true, or rejects after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A JSON body, loosely typed: tests assert on its shape. */
export type JsonBody = Record<string, any>;

/** Reads a fetch response's JSON body. */
export async function readJson(res: Response): Promise<JsonBody> {
  return (await res.json()) as JsonBody;
}

/** The ErrorInfo reason of a google.rpc.Status JSON body, if it carries one. */
export function errorReason(status: JsonBody): string | undefined {
  const info = (status.details as JsonBody[] | undefined)?.find((d) => String(d['@type']).endsWith('/google.rpc.ErrorInfo'));
  return info?.reason as string | undefined;
}

/** The fields named by a google.rpc.Status JSON body's BadRequest detail. */
export function violatedFields(status: JsonBody): string[] {
  const bad = (status.details as JsonBody[] | undefined)?.find((d) => String(d['@type']).endsWith('/google.rpc.BadRequest'));
  return ((bad?.fieldViolations as Array<{ field: string }> | undefined) ?? []).map((v) => v.field);
}
