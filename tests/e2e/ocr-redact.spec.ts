/**
 * The owner looks at a held ultrasound with text burned in: the Quarantine tab says OCR found
 * text, "Look" shows the image with the boxes coloured by category, the owner draws one more
 * rectangle and redacts and releases; the row becomes "redacted" and the pool has the instance.
 * Its own pool and owner (made here), so the other specs' worlds are untouched.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { DEFAULT_RULES } from '../../lib/anonymize/rules';
import { hashPassword } from '../../lib/auth/password';
import { db, type Prisma } from '../../lib/db';
import { jobId } from '../../lib/jobs/catalogue';
import { closeQueues, enqueue } from '../../lib/jobs/queues';
import { burnedInstance, closeRenderer, renderImages, textSpecs } from '../helpers/burned-text';
import { signIn, world } from './state';

test('the owner sees OCR boxes over a held image, draws a region and redacts and releases', async ({ page }) => {
  test.setTimeout(180_000);
  const w = world();
  const email = `ocr.owner.${Date.now()}@e2e.test`;
  const owner = await db.user.create({ data: { email, name: 'Otto Ocr', role: 'RESEARCHER', passwordHash: await hashPassword(w.password) } });
  const rules = DEFAULT_RULES as unknown as Prisma.InputJsonValue;
  const pool = await db.pool.create({
    data: { name: 'Echo cohort', aeTitle: `E2E_OCR_${Date.now() % 1e5}`, kind: 'RESEARCH', secret: randomBytes(32).toString('hex'), rules, ruleVersions: { create: { version: 1, rules } }, members: { create: [{ userId: owner.id, role: 'OWNER' }] } },
  });
  const [img] = await renderImages(textSpecs(1, 4));
  await closeRenderer();
  const inst = burnedInstance({ img, layout: 'rgb', kind: 'us' });
  const rel = path.join('quarantine', pool.id, `${inst.sop}.dcm`);
  await fs.mkdir(path.join(process.env.STORAGE_ROOT!, 'quarantine', pool.id), { recursive: true });
  await fs.writeFile(path.join(process.env.STORAGE_ROOT!, rel), inst.bytes);
  const held = await db.quarantinedInstance.create({
    data: { poolId: pool.id, reason: 'ultrasound', studyInstanceUid: inst.study, seriesInstanceUid: inst.series, sopInstanceUid: inst.sop, sopClassUid: '1.2.840.10008.5.1.4.1.1.6.1', modality: 'US', path: rel, size: inst.bytes.length, ruleVersion: 1 },
  });
  // The run's worker reads it, as it reads what ingest holds (ingest enqueues the same job).
  await enqueue('quarantine.ocr', { quarantinedId: held.id }, { jobId: jobId.ocr(held.id), removeOnComplete: true, removeOnFail: true });
  await closeQueues();
  await expect.poll(async () => (await db.quarantinedInstance.findUniqueOrThrow({ where: { id: held.id } })).ocrStatus, { timeout: 120_000 }).toBe('done');

  await signIn(page, email, w.password);
  await page.goto(`/pools/${pool.id}/quarantine`);
  const row = page.getByRole('row').filter({ hasText: 'Ultrasound Image' });
  await expect(row.getByTestId('ocr-cell')).toHaveText(/\d+ text box/);
  await row.getByRole('button', { name: 'Look' }).click();
  const panel = page.getByRole('region', { name: 'Inspect quarantined instance' });
  await expect(panel.getByTestId('ocr-status')).toContainText('OCR read this image');
  const overlay = panel.getByLabel('Boxes over the image; drag to draw a region to blank');
  await expect(overlay.locator('rect[data-category="date"]').first()).toBeAttached();
  await expect(overlay.locator('rect[data-category="id"]').first()).toBeAttached();
  await expect(panel.getByRole('img', { name: 'Quarantined image' })).toHaveJSProperty('complete', true);
  // Draw a rectangle in the lower right quarter.
  const box = (await overlay.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.7);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.85, box.y + box.height * 0.85, { steps: 5 });
  await page.mouse.up();
  await expect(panel.getByText('1 drawn')).toBeVisible();
  await page.screenshot({ path: 'test-results/ocr-look.png', fullPage: true });
  await panel.getByRole('button', { name: 'Redact and release' }).click();
  // The in-app confirmation (not window.confirm) says what happens, focus starts on Cancel.
  const dialog = page.getByRole('dialog', { name: /Blank \d+ regions? and release/ });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.screenshot({ path: 'test-results/ocr-redact-confirm.png' });
  await dialog.getByRole('button', { name: 'Redact and release' }).click();
  // The notice shows until the list refreshes; with nothing left waiting the page shows its empty state.
  await expect(page.getByText(/Redacted \d+ regions and released/).or(page.getByText('Nothing is waiting in quarantine'))).toBeVisible({ timeout: 60_000 });
  const after = await db.quarantinedInstance.findUniqueOrThrow({ where: { id: held.id } });
  expect(after.decision).toBe('redacted');
  const redaction = await db.redaction.findFirstOrThrow({ where: { quarantinedInstanceId: held.id } });
  expect(redaction.ownerRegions).toBe(1);
  expect(await db.instance.count({ where: { poolId: pool.id, sopInstanceUid: redaction.sopInstanceUid } })).toBe(1);
});
