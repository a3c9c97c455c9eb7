/**
 * The honest broker's side, in the browser: the owner of the Neuro cohort (not an administrator)
 * adds and removes a member, ticks a profile option and saves the rules as a new version,
 * previews a synthetic instance with PHI (before/after), and sees the quarantine's empty state
 * and the identity map. A researcher of the pool sees none of those tabs. An administrator reads
 * the rules but cannot save them (separation of duties) and sees the kept-identifier warning.
 */
import fs from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { generateCorpus } from '../../lib/synthetic';
import { signIn, world } from './state';

test('a pool owner manages members, saves rules as a new version and previews them on a sample', async ({ page }) => {
  const w = world();
  await signIn(page, w.users.researcherB, w.password);
  await page.getByRole('link', { name: 'Neuro cohort' }).click();
  const sections = page.getByRole('navigation', { name: 'Pool sections' });
  await sections.getByRole('link', { name: 'Rules & settings' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Neuro cohort');

  // Members: add researcher A by e-mail, then remove them again.
  const members = page.getByRole('table', { name: 'Members' });
  await page.getByLabel('Add by e-mail').fill('nobody@e2e.test');
  await page.getByRole('form', { name: 'Add a member' }).getByRole('button', { name: 'Add' }).click();
  await expect(page.getByRole('alert').filter({ hasText: /account/i })).toContainText('No active account');
  await page.getByLabel('Add by e-mail').fill(w.users.researcherA);
  await page.getByLabel('Role', { exact: true }).selectOption('RESEARCHER');
  await page.getByRole('form', { name: 'Add a member' }).getByRole('button', { name: 'Add' }).click();
  const row = members.getByRole('row').filter({ hasText: w.users.researcherA });
  await expect(row).toBeVisible();
  // A role change asks first; Cancel (here: Escape) leaves the role as it was.
  await row.getByRole('combobox').selectOption('COORDINATOR');
  const roleDialog = page.getByRole('dialog', { name: /coordinator of this pool\?/ });
  await expect(roleDialog).toContainText('query the PACS');
  await page.keyboard.press('Escape');
  await expect(roleDialog).toHaveCount(0);
  await expect(row.getByRole('combobox')).toHaveValue('RESEARCHER');
  await row.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('dialog', { name: /Remove .* from this pool/ }).getByRole('button', { name: 'Remove member' }).click();
  await expect(members.getByRole('row').filter({ hasText: w.users.researcherA })).toHaveCount(0);
  // The only owner cannot remove themself.
  await expect(members.getByRole('row').filter({ hasText: w.users.researcherB }).getByRole('button', { name: 'Leave' })).toBeDisabled();

  // Rules: keep patient characteristics, saved as the next version.
  const version = Number((await page.getByRole('button', { name: /Save as version \d+/ }).textContent())!.match(/\d+/)![0]);
  await page.getByRole('checkbox', { name: /Retain Patient Characteristics Option/ }).check();
  // Stamps: the clinical-trial attributes, with sponsor and protocol.
  await page.getByRole('checkbox', { name: /Clinical Trial Subject and Study attributes/ }).check();
  await page.getByLabel(/^Sponsor name/).fill('Example Sponsor');
  await page.getByLabel(/^Protocol ID/).fill('EX-01');
  await page.getByRole('button', { name: `Save as version ${version}` }).click();
  await expect(page.getByRole('status').filter({ hasText: `Saved as version ${version}` })).toBeVisible();
  // The summary comes first; the generated list is folded away until opened.
  await expect(page.getByRole('region', { name: 'Summary' })).toContainText(`Version ${version}`);
  await expect(page.getByRole('region', { name: 'Summary' })).toContainText('Retain Patient Characteristics');
  await expect(page.getByRole('table', { name: 'Generated rule list' })).toHaveCount(0);
  await page.locator('summary', { hasText: 'Generated rule list' }).click();
  await expect(page.getByRole('table', { name: 'Generated rule list' })).toContainText('PatientSex');

  // Preview the saved rules on an uploaded sample: identity replaced, sex kept.
  const corpus = generateCorpus({ seed: 99, patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 1, rows: 16, columns: 16 });
  const patient = corpus.patients[0];
  const sample = 'test-results/owner-sample.dcm';
  await fs.writeFile(sample, corpus.instances[0].buffer);
  await page.getByLabel('Upload a .dcm').check();
  await page.getByLabel(/DICOM file/).setInputFiles(sample);
  await page.getByRole('button', { name: 'Preview', exact: true }).click();
  const result = page.getByRole('region', { name: 'Preview result' });
  await expect(result).toContainText('would enter the pool');
  const table = result.getByRole('table', { name: 'Before and after' });
  const idRow = table.getByRole('row').filter({ has: page.getByRole('cell', { name: 'PatientID', exact: true }) }).first();
  await expect(idRow).toContainText(patient.patientId);
  await expect(idRow).toContainText('changed');
  await expect(idRow.getByRole('cell').nth(3)).not.toContainText(patient.patientId);
  await result.getByRole('checkbox', { name: /^kept/ }).check(); // kept rows are hidden at first
  const sexRow = table.getByRole('row').filter({ has: page.getByRole('cell', { name: 'PatientSex', exact: true }) }).first();
  await expect(sexRow).toContainText('kept');
  const sponsorRow = table.getByRole('row').filter({ has: page.getByRole('cell', { name: 'ClinicalTrialSponsorName', exact: true }) }).first();
  await expect(sponsorRow).toContainText('Example Sponsor');
  await page.screenshot({ path: 'test-results/screens/owner-rules-preview.png', fullPage: true });

  // Quarantine and identity map: the owner's tabs.
  await sections.getByRole('link', { name: 'Quarantine' }).click();
  await expect(page.getByText('Nothing is waiting in quarantine')).toBeVisible();
  // The de-identification report, with its exports.
  await sections.getByRole('link', { name: 'De-identification report' }).click();
  await expect(page.getByRole('link', { name: 'Download PDF' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Download CSV' })).toBeVisible();
  await page.screenshot({ path: 'test-results/screens/owner-deid-report.png', fullPage: true });
  await sections.getByRole('link', { name: 'Identity map' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Neuro cohort');
  await page.screenshot({ path: 'test-results/screens/owner-identity.png', fullPage: true });
});

test('a researcher of the pool sees no owner tabs, and the owner pages refuse them', async ({ page }) => {
  const w = world();
  await signIn(page, w.users.researcherA, w.password);
  await page.getByRole('link', { name: 'Cardiac cohort' }).click();
  const sections = page.getByRole('navigation', { name: 'Pool sections' });
  await expect(sections.getByRole('link', { name: 'Studies' })).toBeVisible();
  for (const tab of ['Rules & settings', 'Identity map', 'Quarantine', 'De-identification report']) await expect(sections.getByRole('link', { name: tab })).toHaveCount(0);
  for (const p of ['settings', 'identity', 'quarantine', 'report']) {
    const res = await page.goto(`/pools/${w.pools.a}/${p}`);
    expect(res?.status(), p).toBeGreaterThanOrEqual(400);
  }
});

test('an administrator reads a pool’s rules but cannot save them or open the identity map; keeping PatientID is flagged', async ({ page }) => {
  const w = world();
  await signIn(page, w.users.admin, w.password);
  await page.goto(`/pools/${w.pools.a}/settings`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Cardiac cohort');
  const sections = page.getByRole('navigation', { name: 'Pool sections' });
  await expect(sections.getByRole('link', { name: 'Identity map' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /Save as version \d+/ })).toHaveCount(0);
  await expect(page.getByText('only the pool’s owner saves them')).toBeVisible();

  // Checking rules that keep PatientID shows the warning (the check is allowed, saving is not).
  await page.getByRole('button', { name: '+ Add override' }).click();
  await page.getByLabel('Selector of override 1').fill('PatientID');
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await expect(page.getByTestId('direct-identifier-warning')).toContainText('PatientID');

  const res = await page.goto(`/pools/${w.pools.a}/identity`);
  expect(res?.status()).toBeGreaterThanOrEqual(400);
  // The header links to the notifications page.
  await page.goto('/notifications');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Notifications');
});
