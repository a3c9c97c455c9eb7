/**
 * A DICOMweb source end to end: the administrator creates a DICOMweb connector in the admin UI
 * (the run's Orthanc through its DICOMweb plugin), tests it, reads what the PACS administrator
 * must provide; a coordinator queries an MRN through it (QIDO-RS) and retrieves the studies
 * (WADO-RS), which arrive de-identified in the pool.
 */
import { expect, test } from '@playwright/test';
import { signIn, world } from './state';

// Sorted after the run's DIMSE connector ("E2E PACS"), which other specs expect to be the default.
const NAME = 'Zeta DICOMweb archive';

test('an admin creates and tests a DICOMweb connector; a coordinator retrieves a study through it', async ({ page, browser }) => {
  const w = world();
  await signIn(page, w.users.admin, w.password);
  await page.goto('/admin/connectors');
  await page.getByRole('button', { name: 'New connector' }).click();
  const cf = page.getByRole('form', { name: 'Create connector' });
  await cf.getByLabel('Name *').fill(NAME);
  await cf.getByLabel('Type').selectOption('DICOMWEB');
  await expect(cf.getByLabel('PACS device *')).toHaveCount(0);
  await expect(cf.getByLabel('Retrieve method')).toHaveValue('WADORS');
  // The schema shared with the API refuses a base URL that is not http(s).
  await cf.getByLabel('Base URL *').fill('pacs.example.org/dicom-web');
  const q = await cf.getByLabel('Query AE (pool) *').locator('option', { hasText: 'E2E_QUERY' }).getAttribute('value');
  await cf.getByLabel('Query AE (pool) *').selectOption(q!);
  const r = await cf.getByLabel('Receiving AE (pool) *').locator('option', { hasText: 'E2E_RECEIVE' }).getAttribute('value');
  await cf.getByLabel('Receiving AE (pool) *').selectOption(r!);
  await cf.getByRole('button', { name: 'Create connector' }).click();
  await expect(cf).toContainText('The base URL must be an http:// or https:// URL');
  await cf.getByLabel('Base URL *').fill(w.pacsWebUrl!);
  // Trust-all shows its risk before anyone saves it; it is switched off again.
  await cf.getByLabel('Disable certificate checks (trust any certificate)').check();
  await expect(cf.getByRole('alert').filter({ hasText: 'anyone on the network path' })).toBeVisible();
  await cf.getByLabel('Disable certificate checks (trust any certificate)').uncheck();
  await cf.getByLabel('Max concurrent requests *').fill('2');
  await page.screenshot({ path: 'test-results/screens/admin-dicomweb-form.png', fullPage: true });
  await cf.getByRole('button', { name: 'Create connector' }).click();

  const connectors = page.getByRole('table', { name: 'Connectors' });
  const row = connectors.getByRole('row').filter({ hasText: NAME });
  await expect(row).toContainText('DICOMWEB');
  await expect(row).toContainText(w.pacsWebUrl!);
  await row.getByRole('button', { name: 'Test connection' }).click();
  await expect(row).toContainText(/Connected: QIDO-RS answered in \d+ ms/);
  await expect(page.getByRole('region', { name: 'For the PACS administrator' }).or(page.locator('section', { hasText: 'For the PACS administrator' }))).toContainText('A DICOMweb source without authentication: Tributary searches (QIDO-RS) and retrieves (WADO-RS) at');
  await page.screenshot({ path: 'test-results/screens/admin-dicomweb-connector.png', fullPage: true });

  // The coordinator, in a fresh session.
  const ctx = await browser.newContext();
  const cp = await ctx.newPage();
  const patient = w.patients[7];
  await signIn(cp, w.users.coordinator, w.password);
  await cp.getByRole('link', { name: 'Cardiac cohort' }).click();
  await cp.getByRole('navigation', { name: 'Pool sections' }).getByRole('link', { name: 'Query & retrieve' }).click();
  await cp.getByRole('form', { name: 'New query' }).getByLabel('Connector').selectOption({ label: NAME });
  await cp.getByLabel('MRN (Patient ID) *').fill(patient.patientId);
  await cp.getByRole('button', { name: 'Run query' }).click();
  const results = cp.getByRole('table', { name: 'Studies found' });
  await expect(results).toBeVisible();
  await expect(results.locator('tbody tr')).toHaveCount(patient.accessionNumbers.length);
  await cp.getByLabel('Select all studies').check();
  await cp.getByRole('button', { name: /Retrieve \d+ selected/ }).click();
  await expect(results.getByTestId('retrieval').filter({ hasText: 'done' })).toHaveCount(patient.accessionNumbers.length, { timeout: 90_000 });
  await expect(cp.getByRole('region', { name: 'Progress', exact: true })).toContainText(`${patient.numInstances}/${patient.numInstances} instances stored`);
  await cp.screenshot({ path: 'test-results/screens/coordinator-dicomweb-done.png', fullPage: true });
  await ctx.close();
});
