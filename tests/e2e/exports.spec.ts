/**
 * Exporters in the browser (issue 12): an administrator registers a STOW-RS destination (a
 * private Orthanc with its DICOMweb plugin, started here) and tests it; the owner of "Cardiac
 * cohort" sets up an exporter to it (the disable-trust-manager warning shows while ticked); a
 * researcher of the pool ticks two studies, chooses Export…, picks the exporter and watches the
 * export complete on the pool's Exports page; the destination then holds exactly those instances.
 * An administrator cannot open the pool's Exporters page, a researcher neither.
 *
 * When run alone (without coordinator-path.spec.ts before it), pool A has no studies: its owner
 * puts a few synthetic ones in over STOW-RS first.
 *
 * Screenshots at 1366 x 900 go to test-results/screens/exports-*.png.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { freePort, startOrthancProcess, type OrthancProcess } from '../../scripts/lib/orthanc';
import { generateCorpus } from '../../lib/synthetic';
import { signIn, world } from './state';

test.use({ viewport: { width: 1366, height: 900 } });

let archive: OrthancProcess;
let archiveDir: string;

test.beforeAll(async () => {
  archiveDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-e2e-archive-'));
  archive = await startOrthancProcess({ dir: archiveDir, aet: 'E2E_ARCHIVE', dicomWeb: true, verbose: !!process.env.EXPORTS_DEBUG, dicomPort: await freePort(), httpPort: await freePort() });
});

test.afterAll(async () => {
  await archive?.stop();
  if (archiveDir && !process.env.EXPORTS_DEBUG) await fs.rm(archiveDir, { recursive: true, force: true });
});

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: `test-results/screens/exports-${name}.png` });
}

async function stow(page: Page, poolId: string, objects: Buffer[]) {
  const boundary = 'e2e-exports-boundary';
  const parts: Buffer[] = [];
  for (const o of objects) parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), o, Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  const res = await page.request.post(`/dicomweb/${poolId}/studies`, {
    headers: { 'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`, Accept: 'application/dicom+json', Origin: new URL(page.url()).origin },
    data: Buffer.concat(parts),
  });
  expect([200, 202]).toContain(res.status());
}

test('an admin adds a destination, the owner an exporter, a researcher exports a selection and sees it complete', async ({ browser }) => {
  test.setTimeout(300_000);
  const w = world();
  const stowUrl = `${archive.httpUrl}/dicom-web/studies`;
  const destName = `Group archive ${Date.now().toString(36)}`;
  const exporterName = `To the group archive ${Date.now().toString(36)}`;

  // --- The administrator registers the destination and tests it.
  const admin = await browser.newPage();
  await signIn(admin, w.users.admin, w.password);
  await admin.goto('/admin/destinations');
  await expect(admin).toHaveTitle('Destinations · Tributary');
  if (!(await admin.getByRole('form', { name: 'Create destination' }).isVisible())) await admin.getByRole('button', { name: 'New destination' }).click();
  const form = admin.getByRole('form', { name: 'Create destination' });
  // One message per field: an empty form names the name and the URL.
  await form.getByRole('button', { name: 'Create destination' }).click();
  await expect(form.getByText('Name is required')).toBeVisible();
  await expect(form.locator('.field-error')).toHaveCount(2);
  // A DICOM destination asks for a device and storage commitment instead of a URL.
  await form.getByLabel('Type').selectOption('DICOM');
  await expect(form.getByLabel('Receiving device *')).toBeVisible();
  await expect(form.getByLabel(/Supports Storage Commitment/)).toBeVisible();
  await screenshot(admin, 'admin-destination-dicom-form');
  await form.getByLabel('Type').selectOption('DICOMWEB');
  await form.getByLabel('Authentication').selectOption('BASIC');
  await expect(form.getByLabel('Password *')).toHaveAttribute('type', 'password');
  await screenshot(admin, 'admin-destination-web-form');
  await form.getByLabel('Authentication').selectOption('NONE');
  await form.getByLabel('Name *').fill(destName);
  await form.getByLabel('STOW-RS URL *').fill(stowUrl);
  await form.getByLabel('Description').fill('The research group’s Orthanc');
  await form.getByRole('button', { name: 'Create destination' }).click();
  const destRow = admin.getByRole('table', { name: 'Destinations' }).getByRole('row').filter({ hasText: destName });
  await expect(destRow).toHaveCount(1);
  await destRow.getByRole('button', { name: `Test destination ${destName}` }).click();
  await expect(destRow).toContainText(/Reachable: .*answered HTTP 200/);
  await screenshot(admin, 'admin-destinations');

  // The administrator does not set up a pool's exporters.
  const refused = await admin.goto(`/pools/${w.pools.a}/exporters`);
  expect(refused?.status()).toBe(404);
  await admin.close();

  // --- The owner sets up an exporter.
  const owner = await browser.newPage();
  await signIn(owner, w.users.ownerA, w.password);
  await owner.goto(`/pools/${w.pools.a}`);
  if ((await owner.getByRole('checkbox', { name: /^Select study/ }).count()) < 2) {
    // Run alone, or after specs that left fewer than two studies: give the pool a few (the
    // export below selects two).
    const corpus = generateCorpus({ seed: 1212, patients: 2, rows: 32, columns: 32, instancesPerSeries: 2 });
    await stow(owner, w.pools.a, corpus.instances.map((i) => i.buffer));
  }
  await owner.getByRole('navigation', { name: 'Pool sections' }).getByRole('link', { name: 'Exporters' }).click();
  await expect(owner).toHaveTitle('Cardiac cohort · Exporters · Tributary');
  if (!(await owner.getByRole('form', { name: 'Create exporter' }).isVisible())) await owner.getByRole('button', { name: 'New exporter' }).click();
  const ef = owner.getByRole('form', { name: 'Create exporter' });
  await ef.getByLabel('Name *').fill(exporterName);
  await ef.getByLabel('Destination *').selectOption({ label: `${destName} — STOW-RS · ${stowUrl}` });
  await ef.getByLabel('Instances per request *').fill('4');
  await ef.getByLabel('Requests in flight *').fill('0');
  await ef.getByRole('button', { name: 'Create exporter' }).click();
  await expect(ef.getByText('At least 1')).toBeVisible();
  await ef.getByLabel('Requests in flight *').fill('2');
  // A field's message goes as soon as the field changes, not at the next submit.
  await expect(ef.getByText('At least 1')).toHaveCount(0);
  await expect(ef.getByLabel('Requests in flight *')).not.toHaveAttribute('aria-invalid', 'true');
  // Disabling certificate checks shows why not to.
  await ef.getByLabel(/Disable certificate checks/).check();
  await expect(ef.getByRole('alert')).toContainText('any server on the network path can pose as the destination');
  await screenshot(owner, 'owner-exporter-form');
  await ef.getByLabel(/Disable certificate checks/).uncheck();
  await ef.getByRole('button', { name: 'Create exporter' }).click();
  const exporterRow = owner.getByRole('table', { name: 'Exporters' }).getByRole('row').filter({ hasText: exporterName });
  await expect(exporterRow).toContainText('2 in flight · 4 per request · as stored');
  await expect(exporterRow).toContainText('enabled');
  await screenshot(owner, 'owner-exporters');
  await owner.close();

  // --- The researcher: no Exporters tab, but Export… on the selection.
  const page = await browser.newPage();
  await signIn(page, w.users.researcherA, w.password);
  expect((await page.goto(`/pools/${w.pools.a}/exporters`))?.status()).toBe(404);
  await page.goto(`/pools/${w.pools.a}?sort=patientId&dir=asc`);
  await expect(page.getByRole('navigation', { name: 'Pool sections' }).getByRole('link', { name: 'Exporters' })).toHaveCount(0);
  const studies = page.getByRole('table', { name: 'Studies' });
  const boxes = studies.getByRole('checkbox', { name: /^Select study/ });
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  const instanceCells = await studies.locator('tbody tr').filter({ has: page.locator('input:checked') }).locator('td:nth-last-child(2)').allInnerTexts();
  const expected = instanceCells.reduce((n, t) => n + Number(t.replace(/,/g, '')), 0);
  expect(expected).toBeGreaterThan(0);
  const exportButton = page.getByRole('region', { name: 'Selection' }).getByRole('button', { name: 'Export…' });
  await exportButton.click();
  const dialog = page.getByRole('dialog', { name: 'Export 2 selected studies' });
  await expect(dialog).toBeVisible();
  // Escape closes it and gives the focus back to the button.
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(exportButton).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(dialog).toBeVisible();
  // Start without choosing: the field says what is missing.
  await dialog.getByLabel('Exporter *').selectOption('');
  await dialog.getByRole('button', { name: 'Start export' }).click();
  await expect(dialog.getByText('Choose the exporter')).toBeVisible();
  await dialog.getByLabel('Exporter *').selectOption({ label: `${exporterName} → ${destName} (STOW-RS)` });
  await screenshot(page, 'export-dialog');
  await dialog.getByRole('button', { name: 'Start export' }).click();

  // The Exports page follows the export live until it completes.
  await page.waitForURL(new RegExp(`/pools/${w.pools.a}/exports`));
  await expect(page).toHaveTitle('Cardiac cohort · Exports · Tributary');
  const row = page.getByRole('table', { name: 'Exports' }).getByRole('row').filter({ hasText: exporterName });
  await expect(row).toHaveCount(1);
  await expect(row.getByText('completed', { exact: true })).toBeVisible({ timeout: 120_000 });
  await expect(row).toContainText(`${expected.toLocaleString('en-US')} sent`);
  await expect(row).toContainText(`of ${expected.toLocaleString('en-US')}`);
  await expect(row.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100');
  await expect(row.getByRole('link', { name: /^Receipt/ })).toBeVisible();
  await expect(row.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
  await screenshot(page, 'pool-exports');

  // The destination holds exactly what was sent.
  const archived = async () => ((await (await fetch(`${archive.httpUrl}/instances`)).json()) as string[]).length;
  expect(await archived()).toBe(expected);

  // Exporting the same studies again sends nothing new (already there).
  await page.goto(`/pools/${w.pools.a}`);
  await page.getByRole('region', { name: 'Selection' }).getByRole('button', { name: 'Export…' }).click();
  await page.getByRole('dialog').getByLabel('Exporter *').selectOption({ label: `${exporterName} → ${destName} (STOW-RS)` });
  await page.getByRole('dialog').getByRole('button', { name: 'Start export' }).click();
  await page.waitForURL(new RegExp(`/pools/${w.pools.a}/exports`));
  const again = page.getByRole('table', { name: 'Exports' }).getByRole('row').filter({ hasText: exporterName }).first();
  await expect(again.getByText('completed', { exact: true })).toBeVisible({ timeout: 120_000 });
  await expect(again).toContainText(`0 sent · ${expected.toLocaleString('en-US')} already there`);
  expect(await archived()).toBe(expected);
  await page.close();
});
