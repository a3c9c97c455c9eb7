/**
 * Open redirect after sign-in: /signin?callbackUrl=<anything> must only ever lead to a path of
 * this site, in the sign-in form (safeCallbackPath) and in next-auth's redirect callback.
 */
import { describe, expect, it } from 'vitest';
import { authOptions } from '@/lib/auth/options';
import { DEFAULT_AFTER_SIGNIN, safeCallbackPath } from '@/lib/auth/callback-url';

const BASE = 'https://tributary.example.org';
const OFFSITE = [
  'https://elsewhere.example/',
  'http://elsewhere.example/pools',
  '//elsewhere.example/',
  '///elsewhere.example/',
  '/\\elsewhere.example/',
  '\\\\elsewhere.example/',
  '\\/elsewhere.example',
  '/..//elsewhere.example/',
  '/.%2e//elsewhere.example/',
  '/\t/elsewhere.example/',
  '/\n/elsewhere.example/',
  ' //elsewhere.example/',
  'javascript:alert(1)',
  'data:text/html,hi',
  'elsewhere.example',
  'https:elsewhere.example',
  '',
];

function where(path: string): string {
  // What a browser does with the result when navigating from this site.
  return new URL(path, BASE).origin;
}

describe('after sign-in', () => {
  it('keeps a path of this site, with its query and fragment', () => {
    expect(safeCallbackPath('/pools/abc/studies?q=1#top')).toBe('/pools/abc/studies?q=1#top');
    expect(safeCallbackPath('/account')).toBe('/account');
    expect(safeCallbackPath(null)).toBe(DEFAULT_AFTER_SIGNIN);
  });

  it.each(OFFSITE)('never leaves the site for %j', (raw) => {
    const out = safeCallbackPath(raw);
    expect(out).toBe(DEFAULT_AFTER_SIGNIN);
    expect(where(out)).toBe(BASE);
  });

  it("next-auth's redirect callback keeps this origin and drops every other", async () => {
    const redirect = authOptions.callbacks!.redirect!;
    expect(await redirect({ url: `${BASE}/pools/x?y=1`, baseUrl: BASE })).toBe(`${BASE}/pools/x?y=1`);
    expect(await redirect({ url: '/account', baseUrl: BASE })).toBe(`${BASE}/account`);
    for (const url of [...OFFSITE, 'https://tributary.example.org.elsewhere.example/', 'https://elsewhere.example/?u=https://tributary.example.org']) {
      const out = await redirect({ url, baseUrl: BASE });
      expect(new URL(out).origin, url).toBe(BASE);
      expect(out).toBe(`${BASE}${DEFAULT_AFTER_SIGNIN}`);
    }
  });
});
