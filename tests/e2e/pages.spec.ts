import { expect, test, type Page } from '@playwright/test';
import { signIn, world } from './state';

/** What the not-found page shows, and that it is the same page inside the app's layout. */
async function expectStyledNotFound(page: Page, url: string) {
  const res = await page.goto(url);
  expect(res?.status(), url).toBe(404);
  const main = page.locator('main');
  await expect(main.getByRole('heading', { name: 'Page not found' }), url).toBeVisible();
  await expect(main.getByRole('link', { name: 'Back to your pools' }), url).toHaveAttribute('href', '/pools');
  // The layout's navigation is there (a way back), and the title is the generic one.
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pools', exact: true }), url).toBeVisible();
  await expect(page, url).toHaveTitle('Not found · Tributary');
  return (await main.innerText()).trim();
}

test('a page you may not open, or that does not exist, is the same styled not-found page with a way back', async ({ browser }) => {
  const w = world();
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, w.users.researcherA, w.password);

  const made = await expectStyledNotFound(page, '/no/such/page');
  const unknownPool = await expectStyledNotFound(page, '/pools/cm000000000000000000000000');
  // Another pool's pages (pool B exists), and a page of the own pool the researcher's role does not allow.
  for (const url of [`/pools/${w.pools.b}`, `/pools/${w.pools.b}/settings`, `/pools/${w.pools.a}/settings`, `/pools/${w.pools.a}/quarantine`]) {
    const text = await expectStyledNotFound(page, url);
    // Nothing tells a pool that exists from one that does not.
    expect(text, url).toBe(unknownPool);
    expect(await page.content(), url).not.toContain('Neuro cohort');
  }
  expect(made).toBe(unknownPool);

  await page.goto(`/pools/${w.pools.b}`);
  await page.screenshot({ path: 'test-results/screens/not-found.png' });
  await page.getByRole('link', { name: 'Back to your pools' }).click();
  await page.waitForURL('**/pools');
  await expect(page.getByRole('link', { name: 'Cardiac cohort' })).toBeVisible();
  await ctx.close();
});

test('page titles name the pool and the page; the favicon is served', async ({ browser }) => {
  const w = world();
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto('/signin');
  await expect(page).toHaveTitle('Sign in · Tributary');
  await expect(page.locator('link[rel="icon"]')).toHaveAttribute('href', '/favicon.svg');
  const icon = await page.request.get('/favicon.svg');
  expect(icon.status()).toBe(200);
  expect(icon.headers()['content-type']).toContain('image/svg+xml');
  expect(await icon.text()).toContain('<svg');

  await signIn(page, w.users.ownerA, w.password);
  const titles: [string, string][] = [
    ['/pools', 'Pools · Tributary'],
    [`/pools/${w.pools.a}`, 'Cardiac cohort · Studies · Tributary'],
    [`/pools/${w.pools.a}/settings`, 'Cardiac cohort · Rules & settings · Tributary'],
    [`/pools/${w.pools.a}/viewers`, 'Cardiac cohort · Viewers & DICOMweb · Tributary'],
    ['/account', 'Account · Tributary'],
    ['/notifications', 'Notifications · Tributary'],
  ];
  for (const [url, title] of titles) {
    await page.goto(url);
    await expect(page, url).toHaveTitle(title);
  }
  await ctx.close();
});
