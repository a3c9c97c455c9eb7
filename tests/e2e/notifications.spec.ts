/**
 * The coordinator is told in the app when a query's retrieval finishes. Runs after
 * coordinator-path.spec.ts (files run in name order, one worker), whose retrieval it reads.
 */
import { expect, test } from '@playwright/test';
import { signIn, world } from './state';

test('the coordinator who started a query is told in the app when its retrieval finished, with a link to the query and no PHI', async ({ page }) => {
  const w = world();
  await signIn(page, w.users.coordinator, w.password);
  const nav = page.getByRole('link', { name: /^Notifications \d+ unread$/ });
  await expect(nav).toBeVisible();
  await nav.click();
  const list = page.getByRole('list', { name: 'Notifications' });
  // coordinator-path.spec.ts retrieved patient 0's studies (the spreadsheet spec may have a
  // notice of its own, for its 75 studies).
  const n = w.patients[0].accessionNumbers.length;
  const notices = list.getByRole('listitem').filter({ hasText: 'Retrieval for your query' });
  const notice = notices.filter({ hasText: `in Cardiac cohort finished: ${n} ${n === 1 ? 'study' : 'studies'}, ${n} stored.` });
  await expect(notice).toHaveCount(1);
  await expect(notice).toContainText('new');
  for (const text of await notices.allInnerTexts()) {
    for (const p of w.patients) {
      expect(text).not.toContain(p.patientId);
      expect(text).not.toContain(p.patientName.split('^')[0]);
      for (const acc of p.accessionNumbers) expect(text).not.toContain(acc);
    }
  }
  await page.screenshot({ path: 'test-results/screens/notifications.png' });
  await notice.getByRole('link', { name: 'Open the query' }).click();
  await page.waitForURL(new RegExp(`/pools/${w.pools.a}/queries/`));
  // The query page: the row's outcome in words, and each finished study linked to its research copy.
  await expect(page.getByTestId('row-summary')).toHaveText('1 row: 1 answered');
  const open = page.getByRole('table', { name: 'Studies found' }).getByRole('link', { name: 'Open in pool' });
  await expect(open).toHaveCount(w.patients[0].accessionNumbers.length);
  await open.first().click();
  await page.waitForURL(new RegExp(`/pools/${w.pools.a}/studies/`));
  await expect(page.getByRole('heading', { level: 1 })).toContainText('TRB-');
});
