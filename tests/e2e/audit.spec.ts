/** The audit log's filters, expandable details and CSV export, and who may download it. */
import { expect, test } from '@playwright/test';
import { signIn, world } from './state';

test('an administrator filters the audit log by event, user and date, expands details and downloads the CSV; others get no CSV', async ({ browser }) => {
  const w = world();
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, w.users.admin, w.password);
  // Something with details to expand: opening a pool records pool.view { via: page }.
  await page.goto(`/pools/${w.pools.a}`);
  await page.goto('/admin/audit');
  const table = page.getByRole('table', { name: 'Audit events' });
  await expect(table).toBeVisible();

  // Readable names, and details that open.
  const viewRow = table.locator('tbody tr').filter({ hasText: 'Opened a pool' }).first();
  await expect(viewRow).toContainText('Cardiac cohort');
  await viewRow.locator('summary').click();
  await expect(viewRow.locator('dl')).toContainText('via');
  await page.screenshot({ path: 'test-results/screens/admin-audit.png' });

  // Event + user filter.
  const filters = page.getByRole('search', { name: 'Filter audit events' });
  await filters.getByLabel('Event').selectOption({ label: 'Signed in' });
  await filters.getByLabel('User').selectOption({ label: 'Ada Admin (admin@e2e.test)' });
  await filters.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/action=user\.signin/);
  const rows = table.locator('tbody tr');
  expect(await rows.count()).toBeGreaterThan(0);
  for (const text of await rows.allInnerTexts()) {
    expect(text).toContain('Signed in');
    expect(text).toContain('Ada Admin');
  }

  // A date range with nothing in it.
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  await filters.getByLabel('From (UTC day)').fill(tomorrow);
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByText('No event matches these filters')).toBeVisible();
  await page.getByRole('link', { name: 'Clear' }).click();
  await expect(table).toBeVisible();

  // The CSV of a filter.
  const csv = await page.request.get('/api/v1/admin/audit/export?action=user.signin');
  expect(csv.status()).toBe(200);
  expect(csv.headers()['content-type']).toContain('text/csv');
  const body = await csv.text();
  expect(body.split('\r\n')[0]).toContain('time_utc,event,action,user');
  expect(body).toContain('"Signed in"');
  expect(body).not.toContain('"Opened a pool"');
  await ctx.close();

  // A coordinator asking for the CSV, even for their own pool: refused.
  const other = await browser.newContext();
  const p2 = await other.newPage();
  await signIn(p2, w.users.coordinator, w.password);
  const refused = await p2.request.get(`/api/v1/admin/audit/export?pool=${w.pools.a}`);
  expect(refused.status()).toBe(403);
  expect(await refused.text()).not.toContain('Signed in');
  expect((await p2.goto('/admin/audit'))?.status()).toBe(404);
  await other.close();
});
