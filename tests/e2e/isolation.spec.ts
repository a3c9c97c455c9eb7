import { expect, test } from '@playwright/test';
import { signIn, world } from './state';

test('a researcher of another pool cannot open pool A: not in the UI, the API or a file download', async ({ browser }) => {
  const w = world();
  // Researcher A finds an instance of pool A (the coordinator test filled it).
  const ctxA = await browser.newContext();
  const pageA = await ctxA.newPage();
  await signIn(pageA, w.users.researcherA, w.password);
  const list = await pageA.request.get(`/api/v1/pools/${w.pools.a}/studies`);
  expect(list.status()).toBe(200);
  const { rows } = (await list.json()) as { rows: { id: string }[] };
  expect(rows.length).toBeGreaterThan(0);
  const study = (await (await pageA.request.get(`/api/v1/pools/${w.pools.a}/studies/${rows[0].id}`)).json()) as { series: { instances: { id: string }[] }[] };
  const instanceId = study.series[0].instances[0].id;
  const own = await pageA.request.get(`/api/v1/pools/${w.pools.a}/instances/${instanceId}/file`);
  expect(own.status()).toBe(200);
  expect((await own.body()).subarray(128, 132).toString('latin1')).toBe('DICM');
  // A researcher of pool A does not see pool B either.
  await pageA.goto('/pools');
  await expect(pageA.getByRole('link', { name: 'Neuro cohort' })).toHaveCount(0);
  await ctxA.close();

  const ctxB = await browser.newContext();
  const page = await ctxB.newPage();
  await signIn(page, w.users.researcherB, w.password);
  await expect(page.getByRole('link', { name: 'Neuro cohort' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Cardiac cohort' })).toHaveCount(0);
  await page.screenshot({ path: 'test-results/screens/researcher-b-pools.png', fullPage: true });

  // UI: the page of pool A and its study do not exist for B.
  for (const url of [`/pools/${w.pools.a}`, `/pools/${w.pools.a}/studies/${rows[0].id}`, `/pools/${w.pools.a}/query`]) {
    const res = await page.goto(url);
    expect(res?.status(), url).toBe(404);
    await expect(page.locator('main')).not.toContainText('Cardiac cohort');
  }
  // API and file download: 404, no data, no counts.
  for (const url of [
    `/api/v1/pools/${w.pools.a}`,
    `/api/v1/pools/${w.pools.a}/studies`,
    `/api/v1/pools/${w.pools.a}/studies/${rows[0].id}`,
    `/api/v1/pools/${w.pools.a}/instances/${instanceId}/file`,
    // Guessing: pool B's id with pool A's instance id finds nothing either.
    `/api/v1/pools/${w.pools.b}/instances/${instanceId}/file`,
    `/api/v1/pools/${w.pools.b}/studies/${rows[0].id}`,
  ]) {
    const res = await page.request.get(url);
    expect(res.status(), url).toBe(404);
    const text = await res.text();
    expect(text).not.toContain('Cardiac');
    expect(text).not.toContain('DICM');
  }
  await ctxB.close();
});
