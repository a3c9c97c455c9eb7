/**
 * Sign-in against the real server (`next start` with scripts/peer-address.cjs, as in production):
 * ?callbackUrl= never leads off-site, and the per-address limit counts the connection's address
 * (127.0.0.1), not a forged X-Forwarded-For.
 */
import { createHash } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { Redis } from 'ioredis';
import { world } from './state';

async function signInVia(page: import('@playwright/test').Page, url: string) {
  const w = world();
  await page.goto(url);
  await page.getByLabel('E-mail').fill(w.users.researcherA);
  await page.getByLabel('Password').fill(w.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('after sign-in, an off-site callbackUrl leads to the pools page of this site', async ({ page, baseURL }) => {
  for (const evil of ['https://elsewhere.example/', '//elsewhere.example/', '/\\elsewhere.example/']) {
    await page.context().clearCookies();
    await signInVia(page, `/signin?callbackUrl=${encodeURIComponent(evil)}`);
    await page.waitForURL('**/pools');
    expect(new URL(page.url()).origin).toBe(new URL(baseURL!).origin);
  }
  await page.context().clearCookies();
  await signInVia(page, `/signin?callbackUrl=${encodeURIComponent('/account')}`);
  await page.waitForURL('**/account');
});

test('the per-address sign-in count uses the connection address, whatever X-Forwarded-For says', async ({ browser }) => {
  const s = JSON.parse((await import('node:fs')).readFileSync('test-results/e2e-state.json', 'utf8')) as { env: { REDIS_PREFIX: string } };
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const k = (addr: string) => `${s.env.REDIS_PREFIX}:ratelimit:signin-ip:${createHash('sha256').update(addr).digest('hex').slice(0, 32)}`;
  try {
    const forged = '203.0.113.77';
    const ctx = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': forged, 'x-tributary-peer-address': forged } });
    const page = await ctx.newPage();
    const before = Number((await redis.get(k('127.0.0.1'))) ?? 0);
    await signInVia(page, '/signin');
    await page.waitForURL('**/pools');
    expect(Number(await redis.get(k('127.0.0.1')))).toBe(before + 1);
    expect(await redis.exists(k(forged))).toBe(0);
    await ctx.close();
  } finally {
    redis.disconnect();
  }
});
