/**
 * The per-address sign-in limit cannot be reset by a forged X-Forwarded-For: a real HTTP server
 * with scripts/peer-address.cjs preloaded (as `npm start`, docker-compose and the browser tests
 * run `next start`) sees every request from 127.0.0.1 whatever header the client sends, so a
 * sprayer rotating X-Forwarded-For is still stopped after SIGNIN_MAX_ATTEMPTS × 5 tries.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientAddress } from '@/lib/auth/client-address';
import { authOptions } from '@/lib/auth/options';
import { checkSignIn, reset } from '@/lib/auth/rate-limit';
import { env } from '@/lib/env';
import { makeUser } from '../../helpers/fixtures';

type Authorize = (c: Record<string, string>, req: { headers: Record<string, unknown> }) => Promise<unknown>;
const authorize = (authOptions.providers[0] as unknown as { options: { authorize: Authorize } }).options.authorize;

createRequire(import.meta.url)('../../../scripts/peer-address.cjs');

let server: http.Server;
let base: string;
const seen = new Set<string>();

beforeAll(async () => {
  // What the sign-in handler gets: the request's headers (next-auth passes them to authorize).
  server = http.createServer((req, res) => {
    void (async () => {
      const address = clientAddress(req.headers, env().TRUSTED_PROXY_HOPS);
      if (address) seen.add(address);
      const n = Number(req.headers['x-attempt']);
      const r = await checkSignIn(`sprayed-${n}@spray.test`, address);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ allowed: r.allowed, address, headers: req.headers }));
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const a of seen) await reset('signin-ip', a);
  await new Promise((r) => server.close(r));
});

describe('per-address sign-in limit', () => {
  it('counts by connection address: a new X-Forwarded-For (or forged peer header) on every try does not reset it', async () => {
    const max = env().SIGNIN_MAX_ATTEMPTS * 5;
    let last: { allowed: boolean; address: string | null; headers: Record<string, unknown> } | null = null;
    for (let i = 0; i <= max; i++) {
      const res = await fetch(base, {
        headers: {
          'x-attempt': String(i),
          'x-forwarded-for': `198.18.${i % 250}.${(i * 7) % 250}`,
          'x-real-ip': `198.19.0.${i % 250}`,
          'x-tributary-peer-address': `198.20.0.${i % 250}`,
        },
      });
      last = (await res.json()) as typeof last;
      if (i < max) expect(last!.allowed, `attempt ${i}`).toBe(true);
    }
    expect(last!.address).toMatch(/127\.0\.0\.1$/);
    expect(last!.allowed).toBe(false);
    // The sign-in itself is refused for any account from that address, even with the right password.
    const u = await makeUser('RESEARCHER');
    await expect(authorize({ email: u.email, password: u.password }, { headers: last!.headers })).rejects.toThrow(/Too many sign-in attempts/);
  });
});
