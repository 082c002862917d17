/**
 * Token buckets in Redis, shared by every gateway instance: one atomic Lua script per take
 * (read, refill, take, write, expire), timed by the Redis server's clock so instances with
 * skewed clocks agree. Commands fail fast while Redis is away (no offline queue, a command
 * timeout), so the interceptor's fail-open/closed decision comes in milliseconds; the client
 * reconnects by itself and its errors are never thrown at the process.
 */
import Redis from 'ioredis';
import type { BucketStore, TakeResult } from './rate-limit-store';

// KEYS[1] bucket; ARGV[1] tokens per ms, ARGV[2] burst. Returns {allowed, tokens left as text}.
const TAKE = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
return {allowed, tostring(tokens)}
`;

const KEY_PREFIX = 'acme-gw:rl:';

/** A BucketStore on the Redis at `url` (redis://host:port[/db]). */
export function redisBucketStore(url: string, options: { commandTimeoutMs?: number } = {}): BucketStore & { readonly client: Redis } {
  const client = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 250,
    connectTimeout: 1000,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
  // Outages surface as rejected commands; the 'error' events themselves must not crash anything.
  client.on('error', () => {});
  client.defineCommand('acmeTakeToken', { numberOfKeys: 1, lua: TAKE });
  const take = (client as unknown as { acmeTakeToken(key: string, rate: string, burst: string): Promise<[number, string]> }).acmeTakeToken.bind(client);

  const commandTimeoutMs = options.commandTimeoutMs ?? 250;
  // Without an offline queue a command sent before the first connect fails: wait for that
  // one (briefly); while reconnecting after an outage, fail at once.
  const ready = (): Promise<void> => {
    if (client.status === 'ready') return Promise.resolve();
    if (client.status !== 'connecting' && client.status !== 'connect' && client.status !== 'wait') {
      return Promise.reject(new Error(`redis is ${client.status}`));
    }
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(() => {
        client.off('ready', done);
        reject(new Error('redis is not ready'));
      }, commandTimeoutMs * 4);
      client.once('ready', done);
    });
  };

  return {
    client,
    async take(key, perSecond, burst): Promise<TakeResult> {
      await ready();
      const perMs = perSecond / 1000;
      const [allowed, left] = await take(KEY_PREFIX + key, String(perMs), String(burst));
      const tokens = Number(left);
      return {
        allowed: allowed === 1,
        remaining: Math.floor(tokens),
        retryAfterMs: allowed === 1 ? 0 : Math.ceil((1 - tokens) / perMs),
        resetMs: Math.ceil((burst - tokens) / perMs),
      };
    },
    async close() {
      client.disconnect();
    },
  };
}
