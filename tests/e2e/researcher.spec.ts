/**
 * The researcher's side, in a browser at laptop size (1366 x 768): researcher A signs in, sees
 * only their pool, opens a study, sees the series thumbnails, downloads the study and a selection
 * as zips (unzipped and parsed here), and copies the Weasis links. Runs after coordinator-path,
 * which fills pool A.
 */
import fs from 'node:fs/promises';
import zlib from 'node:zlib';
import { expect, test, type Page } from '@playwright/test';
// @ts-ignore -- dcmjs has no type declarations.
import dcmjs from 'dcmjs';
import yauzl from 'yauzl';
import { signIn, world } from './state';

test.use({ viewport: { width: 1366, height: 768 } });

async function unzipFile(file: string): Promise<{ name: string; data: Buffer }[]> {
  const buf = await fs.readFile(file);
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(buf, { lazyEntries: true }, (e, z) => (e ? reject(e) : resolve(z!))));
  const out: { name: string; data: Buffer }[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) =>
      zip.openReadStream(entry, (err, s) => {
        if (err || !s) return reject(err);
        const parts: Buffer[] = [];
        s.on('data', (c: Buffer) => parts.push(c));
        s.on('end', () => {
          const data = Buffer.concat(parts);
          if ((zlib.crc32(data) >>> 0) !== entry.crc32) return reject(new Error(`CRC mismatch: ${entry.fileName}`));
          out.push({ name: entry.fileName, data });
          zip.readEntry();
        });
      }),
    );
    zip.readEntry();
  });
  return out;
}

function sopOf(data: Buffer): string {
  const d = (dcmjs as { data: { DicomMessage: { readFile(b: ArrayBuffer): { dict: Record<string, { Value: string[] }> } } } }).data;
  const parsed = d.DicomMessage.readFile(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
  return parsed.dict['00080018'].Value[0];
}

async function download(page: Page, click: () => Promise<void>, name: string) {
  const [dl] = await Promise.all([page.waitForEvent('download'), click()]);
  expect(await dl.failure()).toBeNull();
  const file = `test-results/${name}`;
  await dl.saveAs(file);
  return { file, suggested: dl.suggestedFilename() };
}

test('a researcher browses their pool, sees thumbnails and downloads zips', async ({ page, context }) => {
  const w = world();
  await signIn(page, w.users.researcherA, w.password);

  // Only their pool.
  await expect(page.getByRole('link', { name: 'Cardiac cohort' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Neuro cohort' })).toHaveCount(0);
  await page.getByRole('link', { name: 'Cardiac cohort' }).click();

  const studies = page.getByRole('table', { name: 'Studies' });
  await expect(studies.locator('tbody tr').first()).toBeVisible();
  const rowCount = await studies.locator('tbody tr').count();
  expect(rowCount).toBeGreaterThan(0);
  await expect(studies).toContainText('TRB-');
  await page.screenshot({ path: 'test-results/screens/researcher-pool.png' });

  // Sorting by research ID keeps every study.
  await studies.getByRole('link', { name: /Research ID/ }).click();
  await expect(page).toHaveURL(/sort=patientId/);
  await expect(studies.locator('tbody tr')).toHaveCount(rowCount);

  // Open the first study: one loaded thumbnail per series.
  const { rows } = (await (await page.request.get(`/api/v1/pools/${w.pools.a}/studies?sort=patientId&dir=asc`)).json()) as { rows: { id: string; numInstances: number; numSeries: number }[] };
  await studies.locator('tbody tr').first().getByRole('link', { name: /^TRB-/ }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('TRB-');
  const studyId = page.url().split('/studies/')[1];
  const study = rows.find((r) => r.id === studyId)!;
  expect(study).toBeDefined();
  const thumbs = page.getByRole('list', { name: 'Series thumbnails' }).locator('img');
  await expect(thumbs).toHaveCount(study.numSeries);
  for (let i = 0; i < study.numSeries; i++) {
    await expect.poll(() => thumbs.nth(i).evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0))).toBeGreaterThan(0);
  }
  const thumbSrc = await thumbs.first().getAttribute('src');
  const thumbRes = await page.request.get(thumbSrc!);
  expect(thumbRes.headers()['content-type']).toBe('image/png');
  expect(thumbRes.headers()['x-thumbnail']).toBe('image');
  await page.screenshot({ path: 'test-results/screens/researcher-study.png' });
  await page.screenshot({ path: 'test-results/screens/researcher-study-full.png', fullPage: true });

  // Download the study: every instance, each a DICOM file.
  const one = await download(page, () => page.getByRole('link', { name: 'Download study (zip)' }).click(), 'researcher-study.zip');
  expect(one.suggested).toMatch(/^TRB-[A-Za-z0-9]+_.*\.zip$/);
  const zipped = await unzipFile(one.file);
  // Every instance, and the study's provenance at the root.
  expect(zipped.filter((e) => e.name === 'PROVENANCE.json')).toHaveLength(1);
  const entries = zipped.filter((e) => e.name !== 'PROVENANCE.json');
  expect(entries).toHaveLength(study.numInstances);
  const detail = (await (await page.request.get(`/api/v1/pools/${w.pools.a}/studies/${studyId}`)).json()) as { series: { instances: { sopInstanceUid: string }[] }[] };
  const expected = detail.series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid)).sort();
  expect(entries.map((e) => sopOf(e.data)).sort()).toEqual(expected);
  for (const e of entries) expect(e.name).toMatch(/^TRB-[A-Za-z0-9]+\/\d{8}_[^/]+\/\d{4}_[A-Z]+[^/]*\/\d{5}_[0-9.]+\.dcm$/);

  // The study's Weasis link.
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.getByRole('button', { name: 'Copy Weasis link' }).click();
  await expect(page.getByLabel('Weasis link')).toHaveValue(/^weasis:\/\//);
  expect(await page.evaluate(() => navigator.clipboard.readText())).toMatch(/^weasis:\/\//);

  // Select every study on the pool page and download them together.
  await page.getByRole('link', { name: 'Cardiac cohort' }).click();
  await page.getByLabel('Select all studies on this page').check();
  const selection = page.getByRole('region', { name: 'Selection' });
  await expect(selection).toContainText(`${rowCount} ${rowCount === 1 ? 'study' : 'studies'} selected`);
  await page.screenshot({ path: 'test-results/screens/researcher-selection.png' });
  const all = await download(page, () => selection.getByRole('link', { name: 'Download selected (zip)' }).click(), 'researcher-selection.zip');
  expect(all.suggested).toMatch(/^Cardiac_cohort_\d+-studies_\d{8}\.zip$/);
  const allEntries = (await unzipFile(all.file)).filter((e) => e.name !== 'PROVENANCE.json');
  expect(allEntries).toHaveLength(rows.reduce((n, r) => n + r.numInstances, 0));
  for (const e of allEntries) expect(e.data.subarray(128, 132).toString('latin1')).toBe('DICM');

  // The Weasis link for the selection: copied to the clipboard (and shown in the page).
  await selection.getByRole('button', { name: 'Copy Weasis link' }).click();
  await expect(selection.getByLabel('Weasis link')).toHaveValue(/^weasis:\/\//);
  expect(await page.evaluate(() => navigator.clipboard.readText())).toMatch(/^weasis:\/\//);
  await page.screenshot({ path: 'test-results/screens/researcher-selection-weasis.png' });
  // The selection is kept while paging; clearing it empties it.
  await selection.getByRole('button', { name: 'Clear selection' }).click();
  await expect(selection).toContainText('Tick studies');
});
