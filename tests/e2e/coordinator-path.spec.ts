import { expect, test } from '@playwright/test';
import { signIn, world } from './state';

test('a coordinator queries by MRN, retrieves, and the study arrives de-identified in the pool', async ({ page }) => {
  const w = world();
  const patient = w.patients[0];
  await signIn(page, w.users.coordinator, w.password);

  await page.getByRole('link', { name: 'Cardiac cohort' }).click();
  await page.getByRole('navigation', { name: 'Pool sections' }).getByRole('link', { name: 'Query & retrieve' }).click();
  await page.getByLabel('MRN (Patient ID) *').fill(patient.patientId);
  await page.getByRole('button', { name: 'Run query' }).click();

  const results = page.getByRole('table', { name: 'Studies found' });
  await expect(results).toBeVisible();
  const rows = results.locator('tbody tr');
  await expect(rows).toHaveCount(patient.accessionNumbers.length);
  // The coordinator sees the source identity to pick the right studies.
  await expect(results).toContainText(patient.patientId);

  await page.getByLabel('Select all studies').check();
  await page.getByRole('button', { name: /Retrieve \d+ selected/ }).click();
  await expect(page.getByRole('status')).toContainText('queued for retrieval');

  // Live progress, no reload: every study reaches "done" and the bar reaches 100%.
  await expect(results.getByTestId('retrieval').filter({ hasText: 'done' })).toHaveCount(patient.accessionNumbers.length, { timeout: 90_000 });
  await expect(page.getByRole('progressbar', { name: 'Instances stored in the pool' })).toHaveAttribute('aria-valuenow', '100');
  await expect(page.getByRole('region', { name: 'Progress', exact: true })).toContainText(`${patient.numInstances}/${patient.numInstances} instances stored`);
  await page.screenshot({ path: 'test-results/screens/coordinator-query-done.png', fullPage: true });

  await page.getByRole('link', { name: 'Open the pool’s studies →' }).click();
  const studies = page.getByRole('table', { name: 'Studies' });
  await expect(studies.locator('tbody tr')).toHaveCount(patient.accessionNumbers.length);
  await expect(studies).not.toContainText(patient.patientId);
  await expect(studies).toContainText('TRB-');
  await page.screenshot({ path: 'test-results/screens/pool-studies.png', fullPage: true });

  await studies.locator('tbody tr').first().getByRole('link', { name: /^TRB-/ }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('TRB-');
  const body = await page.locator('main').innerText();
  expect(body).not.toContain(patient.patientId);
  expect(body).not.toContain(patient.patientName.split('^')[0]);
  await page.screenshot({ path: 'test-results/screens/study.png', fullPage: true });
});
