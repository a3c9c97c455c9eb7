/**
 * DICOM TLS settings on a device, in the browser: the TLS fields appear when "DICOM over TLS" is
 * ticked; CA certificate, client certificate and key (made by openssl for this test) are saved;
 * the key is never shown again, only "set", and stays set when the device is saved without it;
 * a key of another certificate is refused next to its field. Independent of the other specs.
 */
import { expect, test } from '@playwright/test';
import { createTestPki, type TestPki } from '../helpers/certs';
import { signIn, world } from './state';

let pki: TestPki;

test.afterAll(async () => {
  await pki?.cleanup();
});

test('an administrator sets a device to DICOM TLS; the private key is write-only', async ({ page }) => {
  pki = await createTestPki();
  const ca = await pki.ca('E2E Hospital CA');
  const client = await pki.leaf('tributary', ca, { hosts: ['localhost'] });
  const other = await pki.leaf('other', ca, { hosts: ['localhost'] });

  const w = world();
  await signIn(page, w.users.admin, w.password);
  await page.goto('/admin/devices');
  await page.getByRole('button', { name: 'Add device' }).click();
  const add = page.getByRole('form', { name: 'Add device' });
  await add.getByLabel('Name *').fill('TLS PACS');
  await add.getByLabel('AE title *').fill('E2E_TLS');
  await add.getByLabel('Host *').fill('127.0.0.1');
  await add.getByLabel('Port *').fill('2762');
  await expect(add.getByLabel('CA certificates (PEM)')).toBeHidden();
  await add.getByLabel('DICOM over TLS').check();
  await add.getByLabel('CA certificates (PEM)').fill(ca.cert);
  await add.getByLabel(/client certificate \(PEM\)/).fill(client.cert);
  await add.getByLabel(/private key \(PEM\)/).fill(client.key);
  await add.getByLabel('Minimum TLS').selectOption('TLSv1.3');
  await add.screenshot({ path: 'test-results/device-tls-form.png' });
  await add.getByRole('button', { name: 'Add device' }).click();

  const row = page.getByRole('table', { name: 'Devices' }).getByRole('row').filter({ hasText: 'E2E_TLS' });
  await expect(row).toContainText('TLS');
  const html = await page.content();
  expect(html).not.toContain('PRIVATE KEY-----\n');
  expect(html).not.toContain(client.key.split('\n')[1]);

  // Edit: the key shows as set, its field is empty; saving without it keeps it.
  await row.getByRole('button', { name: 'Edit' }).click();
  const edit = page.getByRole('form', { name: 'Edit device TLS PACS' });
  await expect(edit.getByLabel(/private key \(PEM\)/)).toHaveValue('');
  await expect(edit.getByText('— set')).toBeVisible();
  await expect(edit.getByLabel('Minimum TLS')).toHaveValue('TLSv1.3');
  await edit.getByLabel('Description').fill('over TLS');
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByRole('table', { name: 'Devices' }).getByRole('row').filter({ hasText: 'E2E_TLS' })).toContainText('over TLS');
  const listed = (await (await page.request.get('/api/v1/devices')).json()) as { id: string; aeTitle: string; tlsClientKeyState: string }[];
  const device = listed.find((d) => d.aeTitle === 'E2E_TLS')!;
  expect(device.tlsClientKeyState).toBe('set');
  expect(JSON.stringify(listed)).not.toContain('PRIVATE KEY');

  // A key of another certificate is refused at its field.
  await page.getByRole('table', { name: 'Devices' }).getByRole('row').filter({ hasText: 'E2E_TLS' }).getByRole('button', { name: 'Edit' }).click();
  const again = page.getByRole('form', { name: 'Edit device TLS PACS' });
  await again.getByLabel(/private key \(PEM\)/).fill(other.key);
  await again.getByRole('button', { name: 'Save changes' }).click();
  await expect(again.getByText('The private key does not match the client certificate')).toBeVisible();
  await again.screenshot({ path: 'test-results/device-tls-error.png' });
  await again.getByRole('button', { name: 'Cancel' }).click();

  expect((await page.request.delete(`/api/v1/devices/${device.id}`, { headers: { origin: new URL(page.url()).origin } })).ok()).toBe(true);
});
