/**
 * Redis connections. BullMQ needs `maxRetriesPerRequest: null` on its connections; every key
 * Tributary writes lives under REDIS_PREFIX so tests and several installs can share a server.
 */
import { Redis } from 'ioredis';
import { env } from './env';

const globalForRedis = globalThis as unknown as { __tributaryRedis?: Redis };

export function createRedis(): Redis {
  return new Redis(env().REDIS_URL, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

/** Shared connection for commands (rate limits, manifests). Not for BullMQ blocking workers. */
export function redis(): Redis {
  return (globalForRedis.__tributaryRedis ??= createRedis());
}

export function key(...parts: string[]): string {
  return [env().REDIS_PREFIX, ...parts].join(':');
}
