/**
 * A database cohort source in the browser: the administrator writes one against a scratch "RIS"
 * database on this machine's PostgreSQL (a SELECT refused for a missing PatientID column, then
 * saved and tested), and a coordinator fills its parameters on the Query page, checks the rows
 * and runs them into a query whose studies the run's Orthanc finds. Independent of the other specs.
 */
import { randomBytes } from 'node:crypto';
import { expect, test } from '@playwright/test';
import pg from 'pg';
import { signIn, world } from './state';

const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const name = `ris_e2e_${randomBytes(3).toString('hex')}`;

async function admin(sql: string[], database?: string) {
  const url = new URL(ADMIN_URL);
  if (database) url.pathname = `/${database}`;
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  try {
    for (const s of sql) await c.query(s);
  } finally {
    await c.end();
  }
}

test.afterAll(async () => {
  await admin([`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`, `DROP ROLE IF EXISTS "${name}"`]);
});

test('an administrator writes a cohort source; a coordinator fills its parameters and runs it', async ({ page }) => {
  const w = world();
  const patients = w.patients.slice(0, 3);
  await admin([`CREATE ROLE "${name}" LOGIN PASSWORD 'ris-password'`, `CREATE DATABASE "${name}" OWNER "${name}"`]);
  await admin(
    [
      'CREATE TABLE exams (mrn text, acc text, exam_date date, icd10 text)',
      `GRANT SELECT ON exams TO "${name}"`,
      ...patients.flatMap((p) => p.accessionNumbers.map((a) => `INSERT INTO exams VALUES ('${p.patientId}', '${a}', '2024-03-01', 'C34')`)),
      `INSERT INTO exams VALUES ('${w.patients[3].patientId}', NULL, '2024-03-01', 'I21')`,
    ],
    name,
  );
  const studies = patients.reduce((n, p) => n + p.accessionNumbers.length, 0);

  await signIn(page, w.users.admin, w.password);
  await page.goto('/admin/cohort-sources');
  await page.getByRole('button', { name: 'New cohort source' }).click();
  const form = page.getByRole('form', { name: 'Create cohort source' });
  await form.getByLabel('Name *', { exact: true }).fill('RIS exams by diagnosis');
  await form.getByLabel('Description (coordinators see it)').fill('Exams of patients with an ICD-10 code in a period');
  await form.getByLabel('Host *').fill('127.0.0.1');
  await form.getByLabel('Database name *').fill(name);
  await form.getByLabel('User (read-only) *').fill(name);
  await form.getByLabel('Password', { exact: true }).fill('ris-password');
  await form.getByLabel('Retrieve through *').selectOption(w.connectorId);
  await form.getByLabel('SELECT statement *').fill('SELECT mrn, acc, exam_date FROM exams WHERE exam_date BETWEEN :from AND :to AND icd10 = :code');
  await form.getByLabel('PatientID *', { exact: true }).fill('patient_id');
  await form.getByLabel('AccessionNumber', { exact: true }).fill('acc'); // the RIS's dates are not the PACS's here: StudyDate is left unmapped
  await form.getByRole('button', { name: 'Create cohort source' }).click();
  await expect(form.getByRole('alert')).toContainText('does not return the mapped column PatientID (column "patient_id"). It returns: mrn, acc, exam_date');
  await form.getByLabel('PatientID *', { exact: true }).fill('mrn');
  await form.getByRole('button', { name: 'Create cohort source' }).click();
  const row = page.getByRole('table', { name: 'Cohort sources' }).getByRole('row').filter({ hasText: 'RIS exams by diagnosis' });
  await expect(row).toContainText('password set');
  await row.getByRole('button', { name: 'Test' }).click();
  await expect(row).toContainText('returns every mapped column');
  await page.screenshot({ path: 'test-results/screens/cohort-admin.png', fullPage: true });

  await page.context().clearCookies();
  await signIn(page, w.users.coordinator, w.password);
  await page.getByRole('link', { name: 'Neuro cohort' }).click();
  await page.getByRole('navigation', { name: 'Pool sections' }).getByRole('link', { name: 'Query & retrieve' }).click();
  const cohort = page.getByLabel('Database cohort query');
  await cohort.getByLabel('Cohort source').selectOption({ label: 'RIS exams by diagnosis' });
  await cohort.getByLabel('Exams from *').fill('2024-01-01');
  await cohort.getByLabel('Diagnosis code (ICD-10) *').fill('C34');
  await cohort.getByRole('button', { name: 'Check rows' }).click();
  await expect(cohort.getByText('Exams until is required')).toBeVisible();
  await cohort.getByLabel('Exams until *').fill('2024-12-31');
  await cohort.getByRole('button', { name: 'Check rows' }).click();
  await expect(cohort.getByRole('status', { name: 'Cohort check' })).toContainText(`The database returned ${studies} rows: ${studies} valid`);
  await page.screenshot({ path: 'test-results/screens/cohort-check.png', fullPage: true });
  await cohort.getByRole('button', { name: `Run ${studies} valid rows` }).click();
  await page.waitForURL('**/queries/**');
  await expect(page.getByText(/Database cohort RIS exams by diagnosis via/)).toBeVisible();
  await expect(page.getByRole('table', { name: 'Studies found' }).locator('tbody tr')).toHaveCount(studies, { timeout: 60_000 });
});
