/**
 * A Redis outage in the log: one warning per connection when it is lost, one line when it is
 * back, nothing printed around the logger (ioredis prints "[ioredis] Unhandled error event" and a
 * stack for every failed reconnect of a connection without an error listener).
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { quietRedisErrors } from '@/lib/redis';

describe('Redis connection errors', () => {
  const level = process.env.LOG_LEVEL;
  afterEach(() => {
    vi.restoreAllMocks();
    process.env.LOG_LEVEL = level;
  });

  it('are logged once per outage, by code only, and the recovery once', () => {
    process.env.LOG_LEVEL = 'info';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const client = quietRedisErrors(new EventEmitter() as unknown as Redis);
    const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    for (let i = 0; i < 50; i++) client.emit('error', refused());
    client.emit('ready');
    client.emit('ready');
    client.emit('error', refused());
    const lines = spy.mock.calls.map((c) => JSON.parse(String(c[0])) as { level: string; msg: string; err?: { code: string } });
    expect(lines.map((l) => `${l.level} ${l.msg}`)).toEqual([
      'warn Redis connection lost; reconnecting',
      'info Redis connection back',
      'warn Redis connection lost; reconnecting',
    ]);
    expect(lines[0].err?.code).toBe('ECONNREFUSED');
    expect(spy.mock.calls.map((c) => String(c[0])).join('')).not.toContain('127.0.0.1');
  });
});
