import ExcelJS from 'exceljs';
import { expect, test } from '@playwright/test';
import { signIn, world } from './state';

test('a coordinator uploads a 52-row spreadsheet, sees the bad rows, runs the rest and watches every study arrive', async ({ page }) => {
  const w = world();
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Query');
  ws.addRow(['PatientID', 'Modality', 'StudyDateFrom']);
  ws.getColumn(1).numFmt = '@';
  for (const p of w.patients) ws.addRow([p.patientId, null, null]);
  ws.addRow(['12*', null, null]); // a wildcard would match many patients
  ws.addRow([w.patients[1].patientId, null, '03/04/2020']); // ambiguous date
  const file = Buffer.from(await wb.xlsx.writeBuffer());
  expect(w.patients.length).toBeGreaterThanOrEqual(50);
  const studies = w.patients.reduce((n, p) => n + p.accessionNumbers.length, 0);

  await signIn(page, w.users.coordinator, w.password);
  await page.getByRole('link', { name: 'Neuro cohort' }).click();
  await page.getByRole('navigation', { name: 'Pool sections' }).getByRole('link', { name: 'Query & retrieve' }).click();
  await page.getByLabel('Spreadsheet (.xlsx or .csv)').setInputFiles({ name: 'cohort.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: file });
  await page.getByRole('button', { name: 'Check file' }).click();
  const check = page.getByRole('status', { name: 'File check' });
  await expect(check).toContainText(`${w.patients.length} valid rows`);
  await expect(check).toContainText('2 invalid');
  const invalid = page.getByRole('table', { name: 'Invalid rows' });
  await expect(invalid.locator('tbody tr')).toHaveCount(2);
  await expect(invalid).toContainText(String(w.patients.length + 2));
  await page.screenshot({ path: 'test-results/screens/spreadsheet-check.png', fullPage: true });

  await page.getByRole('button', { name: `Run ${w.patients.length} valid rows` }).click();
  await page.waitForURL('**/queries/**');
  const results = page.getByRole('table', { name: 'Studies found' });
  await expect(results.locator('tbody tr')).toHaveCount(studies, { timeout: 60_000 });
  await page.getByRole('button', { name: 'All', exact: true }).click();
  await page.getByRole('button', { name: /Retrieve \d+ selected/ }).click();
  await expect(page.getByRole('region', { name: 'Progress', exact: true })).toContainText(`${studies}/${studies} studies finished`, { timeout: 120_000 });
  await expect(page.getByRole('progressbar', { name: 'Instances stored in the pool' })).toHaveAttribute('aria-valuenow', '100');
  await expect(results.getByTestId('retrieval').filter({ hasText: 'done' })).toHaveCount(studies);
  // The two bad rows are listed with their reasons.
  await expect(page.getByText('Rows without studies')).toBeVisible();
  await page.screenshot({ path: 'test-results/screens/spreadsheet-done.png', fullPage: false });
});
