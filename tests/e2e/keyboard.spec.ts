/**
 * Keyboard only, on the pool's study table and the viewer launch: Tab reaches the select-all box,
 * the sortable headers, each row's checkbox, research ID link and "View", in that order, each with
 * a visible focus outline; Enter sorts (focus stays on the header), Space ticks rows (Shift+Space a
 * range), "View selected" and a row's "View" open OHIF in a new tab on Enter, and Enter on a
 * research ID opens the study. Pool "Neuro cohort" (world.ts; researcher B owns it) is filled here
 * over STOW-RS with three small studies; no other spec counts its studies.
 */
import { expect, test, type Page } from '@playwright/test';
import { generateCorpus } from '../../lib/synthetic';
import { signIn, world } from './state';

test.use({ viewport: { width: 1366, height: 900 } });

async function stow(page: Page, poolId: string, objects: Buffer[]) {
  const boundary = 'e2e-keyboard-boundary';
  const parts: Buffer[] = [];
  for (const o of objects) parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), o, Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  const res = await page.request.post(`/dicomweb/${poolId}/studies`, {
    headers: { 'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`, Accept: 'application/dicom+json', Origin: new URL(page.url()).origin },
    data: Buffer.concat(parts),
  });
  expect([200, 202]).toContain(res.status());
}

/** What has focus: its accessible-ish name, whether :focus-visible matches and its outline. */
function focused(page: Page) {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return null;
    const s = getComputedStyle(el);
    return {
      tag: el.tagName.toLowerCase(),
      type: (el as HTMLInputElement).type ?? '',
      // The accessible name, roughly: aria-label, else the text without aria-hidden parts (the sort arrow).
      name: (el.getAttribute('aria-label') ?? (() => {
        const c = el.cloneNode(true) as HTMLElement;
        c.querySelectorAll('[aria-hidden]').forEach((x) => x.remove());
        return c.textContent ?? '';
      })()).trim(),
      href: el.getAttribute('href') ?? '',
      checked: (el as HTMLInputElement).checked ?? false,
      focusVisible: el.matches(':focus-visible'),
      outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
      inTable: !!el.closest('table[aria-label="Studies"]'),
    };
  });
}

type Focused = NonNullable<Awaited<ReturnType<typeof focused>>>;

/** Presses Tab (or Shift+Tab) until the focused element matches; fails after `max` presses. */
async function tabTo(page: Page, match: (f: Focused) => boolean, what: string, opts: { back?: boolean; max?: number } = {}) {
  for (let i = 0; i < (opts.max ?? 80); i++) {
    await page.keyboard.press(opts.back ? 'Shift+Tab' : 'Tab');
    const f = await focused(page);
    if (f && match(f)) {
      // Visible focus: the keyboard focus shows an outline.
      expect(f.focusVisible, `${what} matches :focus-visible`).toBe(true);
      expect(f.outline, `${what} shows a focus outline`).toBe(true);
      return f;
    }
  }
  throw new Error(`Tab never reached ${what}`);
}

test('the study table and the viewer launch work by keyboard alone', async ({ browser }) => {
  test.setTimeout(240_000);
  const w = world();
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  await signIn(page, w.users.researcherB, w.password);
  const corpus = generateCorpus({ seed: 808, patients: 3, rows: 32, columns: 32, instancesPerSeries: 2 });
  await stow(page, w.pools.b, corpus.instances.map((i) => i.buffer));

  await page.goto(`/pools/${w.pools.b}`);
  const table = page.getByRole('table', { name: 'Studies' });
  const rowBoxes = table.getByRole('checkbox', { name: /^Select study/ });
  const n = await rowBoxes.count();
  expect(n).toBeGreaterThanOrEqual(3);

  // Select all on the page: Space on the header box, again to clear.
  await tabTo(page, (f) => f.name === 'Select all studies on this page', 'the select-all box');
  await page.keyboard.press('Space');
  await expect(page.getByText(`${n} studies selected`)).toBeVisible();
  await page.keyboard.press('Space');
  await expect(page.getByText(/studies selected|study selected/)).toHaveCount(0);

  // The next stop is the first sortable header; Enter sorts, and focus stays on that header.
  const first = await tabTo(page, (f) => f.inTable && f.tag === 'a', 'the first sortable header', { max: 1 });
  expect(first.href).toContain('sort=');
  const header = first.name;
  const th = table.locator('th[aria-sort]');
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => u.search.includes('sort='));
  await expect(th).toHaveCount(1);
  const sortedOnce = await th.getAttribute('aria-sort');
  await expect.poll(async () => (await focused(page))?.name).toContain(header);
  await page.keyboard.press('Enter');
  await expect.poll(() => th.getAttribute('aria-sort')).not.toBe(sortedOnce);
  await expect(th).toContainText(header);

  // Rows: checkbox, research ID link, View link, then the next row's checkbox.
  const box1 = await tabTo(page, (f) => f.type === 'checkbox' && f.name.startsWith('Select study'), 'the first row checkbox');
  await page.keyboard.press('Space');
  await expect(rowBoxes.nth(0)).toBeChecked();
  await expect(page.getByText('1 study selected')).toBeVisible();
  const idLink = await tabTo(page, () => true, 'the next stop', { max: 1 });
  expect(idLink.tag).toBe('a');
  expect(idLink.href).toMatch(new RegExp(`^/pools/${w.pools.b}/studies/`));
  const view1 = await tabTo(page, () => true, 'the row’s View', { max: 1 });
  expect(view1.name).toMatch(/^View study /);
  expect(view1.href).toMatch(new RegExp(`^/viewer/${w.pools.b}/viewer\\?StudyInstanceUIDs=[0-9.]+$`));
  const box2 = await tabTo(page, () => true, 'the second row checkbox', { max: 1 });
  expect(box2.name).toMatch(/^Select study/);
  expect(box2.name).not.toBe(box1.name);

  // Shift+Space on the third row ticks the range from the first: the second row too.
  await tabTo(page, (f) => f.type === 'checkbox' && f.name.startsWith('Select study') && f.name !== box2.name, 'the third row checkbox');
  await page.keyboard.press('Shift+Space');
  await expect(rowBoxes.nth(1)).toBeChecked();
  await expect(rowBoxes.nth(2)).toBeChecked();
  await expect(page.getByText('3 studies selected')).toBeVisible();
  await page.keyboard.press('Space');
  await expect(rowBoxes.nth(2)).not.toBeChecked();
  await expect(page.getByText('2 studies selected')).toBeVisible();

  // "View selected": back up with Shift+Tab, Enter opens OHIF with both studies in a new tab.
  const viewSelected = await tabTo(page, (f) => f.name === 'View selected', '“View selected”', { back: true });
  expect(viewSelected.href).toMatch(new RegExp(`^/viewer/${w.pools.b}/viewer\\?StudyInstanceUIDs=[0-9.]+,[0-9.]+$`));
  const [ohif] = await Promise.all([context.waitForEvent('page'), page.keyboard.press('Enter')]);
  await ohif.waitForLoadState('domcontentloaded');
  expect(new URL(ohif.url()).pathname + new URL(ohif.url()).search).toBe(viewSelected.href);
  await ohif.close();

  // A row's View by keyboard: Enter opens that study alone.
  await page.bringToFront();
  await tabTo(page, (f) => f.name === view1.name, 'the first row’s View');
  const [ohif1] = await Promise.all([context.waitForEvent('page'), page.keyboard.press('Enter')]);
  await ohif1.waitForLoadState('domcontentloaded');
  expect(new URL(ohif1.url()).search).toBe(new URL(view1.href, 'http://x').search);
  await ohif1.close();

  // Clear selection by keyboard, then Enter on a research ID opens the study page.
  await page.bringToFront();
  await tabTo(page, (f) => f.name === 'Clear selection', '“Clear selection”', { back: true });
  await page.keyboard.press('Enter');
  await expect(page.getByText(/studies selected|study selected/)).toHaveCount(0);
  await tabTo(page, (f) => f.href === idLink.href, 'the first research ID link');
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => u.pathname === idLink.href);
  await page.screenshot({ path: 'test-results/screens/keyboard-study.png' });
  await context.close();
});
