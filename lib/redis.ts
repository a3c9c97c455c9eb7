/**
 * Redis connections. BullMQ needs `maxRetriesPerRequest: null` on its connections; every key
 * Tributary writes lives under REDIS_PREFIX so tests and several installs can share a server.
 *
 * Every connection has an error listener: without one, ioredis prints each failed reconnect
 * ("[ioredis] Unhandled error event" and the stack) straight to the console, around the PHI-safe
 * logger, every few hundred milliseconds for as long as Redis is down. Here an outage is one
 * warning per connection (code only) and one line when it is back; ioredis keeps reconnecting.
 */
import { Redis } from 'ioredis';
import { env } from './env';
import { logger } from './logger';

const log = logger('redis');
const globalForRedis = globalThis as unknown as { __tributaryRedis?: Redis };

/** Logs a connection's errors once per outage; returns the client. */
export function quietRedisErrors(client: Redis): Redis {
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log.warn('Redis connection lost; reconnecting', { err });
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    log.info('Redis connection back');
  });
  return client;
}

export function createRedis(): Redis {
  return quietRedisErrors(new Redis(env().REDIS_URL, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false }));
}

/** Shared connection for commands (rate limits, manifests). Not for BullMQ blocking workers. */
export function redis(): Redis {
  return (globalForRedis.__tributaryRedis ??= createRedis());
}

export function key(...parts: string[]): string {
  return [env().REDIS_PREFIX, ...parts].join(':');
}
