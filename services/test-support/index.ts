/** Helpers for the services' tests: temp dirs, databases to run store tests on, promisified calls. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { generateKeyPair, SignJWT } from 'jose';
import { Client as PgClient } from 'pg';
import { decodeStatusDetails, type DecodedStatus } from '../kit';

/** A fresh temp directory and its removal. */
export function tempDir(prefix = 'acme-svc-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A database backend a store test runs on: always PGlite; PostgreSQL when TEST_DATABASE_URL is set. */
export interface TestBackend {
  name: 'pglite' | 'postgres';
  databaseUrl: string | undefined;
}

/** The backends to run store tests against. */
export function testBackends(): TestBackend[] {
  const url = process.env.TEST_DATABASE_URL;
  return [{ name: 'pglite', databaseUrl: undefined }, ...(url ? [{ name: 'postgres' as const, databaseUrl: url }] : [])];
}

/** A schema name no other run uses, so concurrent and repeated runs never collide. */
export function uniqueSchema(base: string): string {
  return `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}_${base}`;
}

/** Drops a test schema from PostgreSQL (no-op for PGlite, whose directory is deleted instead). */
export async function dropSchema(databaseUrl: string | undefined, schema: string): Promise<void> {
  if (!databaseUrl) return;
  const client = new PgClient({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Metadata carrying `authorization: Bearer <token>`. */
export function bearer(token: string): Metadata {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

/** A generated client method, typed by its last overload (request, metadata, options, callback). */
type UnaryMethod<Req, Res> = (req: Req, md: Metadata, options: Partial<CallOptions>, cb: (err: ServiceError | null, res: Res) => void) => unknown;

/** Calls a generated unary client method and returns a promise. */
export function call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, metadata: Metadata = new Metadata()): Promise<Res> {
  return new Promise((resolve, reject) => method(request, metadata, {}, (err, res) => (err ? reject(err) : resolve(res))));
}

/** Awaits a call expected to fail; returns the error with its decoded rich details. */
export async function callError<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata?: Metadata,
): Promise<ServiceError & { decoded: DecodedStatus | undefined }> {
  try {
    await call(method, request, metadata);
  } catch (err) {
    const e = err as ServiceError;
    return Object.assign(e, { decoded: decodeStatusDetails(e.metadata) });
  }
  throw new Error('expected the call to fail');
}

/** A well-formed token with valid claims for `userId`, signed by a fresh key that no service trusts. */
export async function forgeToken(kid: string | undefined, userId: bigint, role = 'admin'): Promise<string> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  return new SignJWT({ role, ver: 1 })
    .setProtectedHeader({ alg: 'EdDSA', kid })
    .setSubject(userId.toString())
    .setIssuer('acme-user')
    .setAudience('acme')
    .setExpirationTime('1h')
    .sign(privateKey);
}
