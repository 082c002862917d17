/**
 * Password hashing with scrypt (RFC 7914) from node:crypto: a random 16-byte salt per
 * password, parameters stored with the hash so they can be raised later, constant-time compare.
 * Format: `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { statusError } from '../kit';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password.normalize('NFKC'), salt, KEY_LENGTH, { ...options, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Hashes a password for storage. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, { N, r: R, p: P });
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** True when `password` matches `stored`; false for a malformed stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A valid hash of a random password: login verifies against it for unknown emails, so timing does not reveal which emails exist. */
export const dummyPasswordHash: Promise<string> = hashPassword(randomBytes(16).toString('hex'));

/**
 * Caps concurrent scrypt work. Each hash takes ~16 MiB and tens of ms of a libuv thread (4 by
 * default, shared with file and DNS work), so a burst of guesses would queue every other call
 * behind it. At most `maxConcurrent` hashes run at once, at most `maxQueued` wait; beyond
 * that the call fails at once with RESOURCE_EXHAUSTED (reason PASSWORD_HASHING_BUSY), so
 * password guessing costs the guesser, not the service's other calls.
 */
export class PasswordHasher {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  /** Most hashes seen running at once (for tests and metrics). */
  peakActive = 0;

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueued: number,
  ) {
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new Error('maxConcurrent must be an integer >= 1');
    if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new Error('maxQueued must be an integer >= 0');
  }

  /** hashPassword within the cap. */
  hash(password: string): Promise<string> {
    return this.run(() => hashPassword(password));
  }

  /** verifyPassword within the cap. */
  verify(password: string, stored: string): Promise<boolean> {
    return this.run(() => verifyPassword(password, stored));
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxConcurrent) {
      if (this.waiting.length >= this.maxQueued) {
        throw statusError(status.RESOURCE_EXHAUSTED, 'too many password checks at once; try again shortly', { reason: 'PASSWORD_HASHING_BUSY' });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    // Here this call holds a slot (a finished call hands its slot straight to the next waiter).
    if (this.active > this.peakActive) this.peakActive = this.active;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
