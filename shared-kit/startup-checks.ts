/**
 * Checks a process makes before it touches anything: is its port free, is its data directory
 * its own. Each failure is a StartupError that says what is wrong in one line, so a second
 * `npm start` is told "in use" instead of crashing halfway through opening a database that
 * another process has open.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { StartupError } from './lifecycle';

/** Splits `host:port` (IPv6 in brackets) into its parts. */
export function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  if (colon <= 0) throw new StartupError(`"${address}" is not a host:port address`);
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new StartupError(`"${address}" has no valid port`);
  return { host, port };
}

/** Fails with a clear message when `host:port` cannot be listened on (port 0 always can). */
export async function checkPortFree(address: string, what: string): Promise<void> {
  const { host, port } = splitHostPort(address);
  if (port !== 0) await probePort(host, port, what);
}

/**
 * Listens on `host:port` for a moment, without SO_REUSEPORT (so it also fails when a group of
 * SO_REUSEPORT listeners holds the port), and resolves to the port it got: port 0 becomes a
 * free one the kernel picked. A StartupError when it cannot listen.
 */
export function probePort(host: string, port: number, what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, `${host}:${port}`, what)));
    probe.listen({ host, port, exclusive: true }, () => {
      const bound = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(bound));
    });
  });
}

/** A listen() failure as a StartupError naming the address and what wanted it. */
export function listenError(err: NodeJS.ErrnoException, address: string, what: string): StartupError {
  if (err.code === 'EADDRINUSE') return new StartupError(`${what}: ${address} is already in use (is another instance running?)`);
  if (err.code === 'EACCES') return new StartupError(`${what}: no permission to listen on ${address}`);
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') return new StartupError(`${what}: ${address} is not an address of this machine`);
  return new StartupError(`${what}: cannot listen on ${address}: ${err.message}`);
}

/**
 * Takes `lockFile` for this process (created exclusively, holding our pid). A lock left by a
 * process that no longer runs (kill -9) is taken over. Returns the function that releases it.
 */
export function lockFile(lockFile: string, what: string): () => void {
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(lockFile, 'utf8').trim() === String(process.pid)) unlinkSync(lockFile);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const holder = Number(readFileSafe(lockFile).trim());
    if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
      throw new StartupError(`${what} is in use by process ${holder} (another npm start?); if that process is not ours, delete ${lockFile}`);
    }
    unlinkSync(lockFile);
  }
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
