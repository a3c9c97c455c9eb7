/**
 * The administrator's setup, in the browser: register the PACS as a device (a bad port is
 * refused next to its field), create the two infrastructure pools, a connector joining them,
 * press Test connection (a C-ECHO to the run's private Orthanc) and see the answer; then edit
 * and delete what was made. Independent of the other specs.
 */
import { expect, test } from '@playwright/test';
import { signIn, world } from './state';

test('an administrator registers a PACS, its two AEs and a connector, tests the connection, and removes them again', async ({ page }) => {
  const w = world();
  await signIn(page, w.users.admin, w.password);
  const devices = (await (await page.request.get('/api/v1/devices')).json()) as { aeTitle: string; port: number }[];
  const pacsPort = devices.find((d) => d.aeTitle === 'E2E_PACS')!.port;

  // Device: a port out of range is refused at its field; then saved, listed, edited.
  await page.goto('/admin/devices');
  await page.getByRole('button', { name: 'Add device' }).click();
  const add = page.getByRole('form', { name: 'Add device' });
  await add.getByLabel('Name *').fill('Research PACS');
  await add.getByLabel('AE title *').fill('E2E_PACS2');
  await add.getByLabel('Host *').fill('127.0.0.1');
  await add.getByLabel('Port *').fill('70000');
  await add.getByRole('button', { name: 'Add device' }).click();
  await expect(add.getByText(/65535/)).toBeVisible();
  await add.getByLabel('Port *').fill(String(pacsPort));
  await add.getByRole('button', { name: 'Add device' }).click();
  const devicesTable = page.getByRole('table', { name: 'Devices' });
  const row = devicesTable.getByRole('row').filter({ hasText: 'E2E_PACS2' });
  await expect(row).toContainText(`127.0.0.1:${pacsPort}`);
  await row.getByRole('button', { name: 'Edit' }).click();
  const edit = page.getByRole('form', { name: 'Edit device Research PACS' });
  await edit.getByLabel('Name *').fill('Research PACS (2)');
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await expect(devicesTable.getByRole('row').filter({ hasText: 'E2E_PACS2' })).toContainText('Research PACS (2)');

  // The two infrastructure pools.
  for (const [name, ae] of [
    ['Second query AE', 'E2E_Q2'],
    ['Second receiving AE', 'E2E_R2'],
  ]) {
    await page.goto('/admin/pools');
    await page.getByRole('button', { name: 'New pool' }).click();
    const form = page.getByRole('form', { name: 'Create pool' });
    await form.getByLabel('Name *').fill(name);
    await form.getByLabel(/AE title/).fill(ae);
    await form.getByLabel('Infrastructure').check();
    await form.getByRole('button', { name: 'Create pool' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  }

  // The connector, and Test connection.
  await page.goto('/admin/connectors');
  await page.getByRole('button', { name: 'New connector' }).click();
  const cf = page.getByRole('form', { name: 'Create connector' });
  await cf.getByLabel('Name *').fill('Research PACS connector');
  const deviceOption = await cf.getByLabel('PACS device *').locator('option', { hasText: 'Research PACS (2)' }).getAttribute('value');
  await cf.getByLabel('PACS device *').selectOption(deviceOption!);
  const q = await cf.getByLabel('Query AE (pool) *').locator('option', { hasText: 'E2E_Q2' }).getAttribute('value');
  await cf.getByLabel('Query AE (pool) *').selectOption(q!);
  const r = await cf.getByLabel('Receiving AE (pool) *').locator('option', { hasText: 'E2E_R2' }).getAttribute('value');
  await cf.getByLabel('Receiving AE (pool) *').selectOption(r!);
  await cf.getByLabel('Max concurrent associations *').fill('2');
  // C-GET: the images come back on Tributary's own association, no move destination at the PACS.
  await cf.getByLabel('Retrieve method').selectOption('CGET');
  await cf.getByRole('button', { name: 'Create connector' }).click();
  const connectors = page.getByRole('table', { name: 'Connectors' });
  const crow = connectors.getByRole('row').filter({ hasText: 'Research PACS connector' });
  await expect(crow).toContainText('E2E_Q2');
  await expect(crow).toContainText('C-GET');
  const pacsBox = page.getByRole('region', { name: 'For the PACS administrator' }).getByRole('listitem').filter({ hasText: 'Research PACS connector' });
  await expect(pacsBox).toContainText('allowed to C-GET');
  await expect(pacsBox).toContainText('C-GET needs no move destination');
  await crow.getByRole('button', { name: 'Test connection' }).click();
  await expect(crow).toContainText(/Connected: C-ECHO answered in \d+ ms/);
  await page.screenshot({ path: 'test-results/screens/admin-connectors.png', fullPage: true });

  // A device in use cannot be deleted; after the connector goes, it can.
  page.on('dialog', (d) => void d.accept());
  await page.goto('/admin/devices');
  await devicesTable.getByRole('row').filter({ hasText: 'E2E_PACS2' }).getByRole('button', { name: 'Delete' }).click();
  await expect(devicesTable.getByRole('alert')).toContainText(/Could not delete.*connector/);
  await page.goto('/admin/connectors');
  await connectors.getByRole('row').filter({ hasText: 'Research PACS connector' }).getByRole('button', { name: 'Delete' }).click();
  await expect(connectors.getByRole('row').filter({ hasText: 'Research PACS connector' })).toHaveCount(0);
  await page.goto('/admin/devices');
  await devicesTable.getByRole('row').filter({ hasText: 'E2E_PACS2' }).getByRole('button', { name: 'Delete' }).click();
  await expect(devicesTable.getByRole('row').filter({ hasText: 'E2E_PACS2' })).toHaveCount(0);
  const after = (await (await page.request.get('/api/v1/devices')).json()) as { aeTitle: string }[];
  expect(after.map((d) => d.aeTitle)).not.toContain('E2E_PACS2');
});
