/**
 * The rules preview's "From the PACS" sample, in the browser: owner A previews the rules of pool
 * "Imaging cohort" on one instance fetched over C-GET from the e2e Orthanc, for a study a query of
 * that pool found. The C-GET connector and the query rows are made here (and removed at the end,
 * so other specs see the world's one connector); no retrieval, no staged instance is created.
 */
import { expect, test } from '@playwright/test';
import { db } from '../../lib/db';
import { generateCorpus } from '../../lib/synthetic';
import { signIn, world } from './state';

test.use({ viewport: { width: 1366, height: 900 } });

test('an owner previews the rules on an instance fetched from the PACS, nothing stored', async ({ page }) => {
  test.setTimeout(180_000);
  const w = world();
  // The world's PACS holds generateCorpus seed 77 (global-setup.ts): the last patient's study.
  const corpus = generateCorpus({ seed: 77, patients: 50, rows: 64, columns: 64, instancesPerSeries: 3 });
  const patient = corpus.patients[49];
  const study = patient.studies[0];
  const base = await db.connector.findUniqueOrThrow({ where: { id: w.connectorId } });
  const connector = await db.connector.create({
    data: { name: 'E2E PACS (C-GET preview)', deviceId: base.deviceId, queryPoolId: base.queryPoolId, receivingPoolId: base.receivingPoolId, maxAssociations: 1, retrieveMethod: 'CGET' },
  });
  const query = await db.query.create({
    data: { poolId: w.pools.v, connectorId: connector.id, status: 'DONE', items: { create: { rowNumber: 1, patientId: patient.patientId, researchId: 'RID-PREVIEW-E2E', status: 'DONE', resultCount: 1 } } },
    include: { items: true },
  });
  await db.queryResult.create({ data: { queryId: query.id, itemId: query.items[0].id, studyInstanceUid: study.studyInstanceUid, patientId: patient.patientId, studyDate: study.studyDate ?? '', modalities: 'CT' } });
  try {
    await signIn(page, w.users.ownerA, w.password);
    await page.goto(`/pools/${w.pools.v}/settings`);
    await page.getByLabel('From the PACS').check();
    const pick = page.getByLabel(/Study found by this pool’s queries/);
    await expect(pick).toContainText('RID-PREVIEW-E2E');
    await expect(pick).toContainText('E2E PACS (C-GET preview)');
    await page.getByRole('button', { name: 'Preview', exact: true }).click();
    const result = page.getByRole('region', { name: 'Preview result' });
    await expect(result).toContainText('research identity from the ResearchID of the query row', { timeout: 60_000 });
    const table = result.getByRole('table', { name: 'Before and after' });
    const idRow = table.getByRole('row').filter({ has: page.getByRole('cell', { name: 'PatientID', exact: true }) }).first();
    await expect(idRow.getByRole('cell').nth(2)).toHaveText(patient.patientId);
    await expect(idRow.getByRole('cell').nth(3)).toHaveText('RID-PREVIEW-E2E');
    await page.screenshot({ path: 'test-results/screens/owner-rules-preview-pacs.png', fullPage: true });
    // Nothing stored: no retrieval, no staged instance, no identity in the pool.
    expect(await db.retrieval.count({ where: { connectorId: connector.id } })).toBe(0);
    expect(await db.stagedInstance.count({ where: { receivingPoolId: base.receivingPoolId, studyInstanceUid: study.studyInstanceUid } })).toBe(0);
    expect(await db.patientIdentity.count({ where: { poolId: w.pools.v, sourcePatientId: patient.patientId } })).toBe(0);
  } finally {
    await db.query.delete({ where: { id: query.id } });
    await db.connector.delete({ where: { id: connector.id } });
    await db.$disconnect();
  }
});
