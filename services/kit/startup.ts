/**
 * What a service claims before it opens anything: its embedded data directory (a lock file,
 * since two processes on one PGlite folder would corrupt it) and its port. Done first, so a
 * second `npm start` stops with one clear line instead of opening the database and failing later.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkPortFree, lockFile } from '../../shared-kit';
import type { Config } from './config';

/** Claims `service`'s data directory (PGlite only) and checks `address` is free; returns the release. */
export async function claimServiceResources(config: Config, service: string, address: string): Promise<() => void> {
  let release = (): void => {};
  if (!config.databaseUrl) {
    const dir = join(config.dataDir, service);
    mkdirSync(dir, { recursive: true });
    release = lockFile(`${dir}.lock`, `the ${service} data directory ${dir}`);
  }
  try {
    await checkPortFree(address, `${service} service`);
  } catch (err) {
    release();
    throw err;
  }
  return release;
}
