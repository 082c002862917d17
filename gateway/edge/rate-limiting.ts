/** Rate limiting's surface: the interceptor and the configured bucket store. */
import type { RateLimitConfig } from '../config';
import { memoryBucketStore, type BucketStore } from './rate-limit-store';

export { createLimiter, rateLimitInterceptor, routeLimit, type Limiter } from './rate-limit';
export { memoryBucketStore, takeFrom, type BucketStore } from './rate-limit-store';

/** The store `config` names; Redis is loaded only when configured. */
export function createBucketStore(config: RateLimitConfig): BucketStore {
  if (config.store === 'memory') return memoryBucketStore();
  const { redisBucketStore } = require('./rate-limit-redis') as typeof import('./rate-limit-redis');
  return redisBucketStore(config.redisUrl);
}
