/**
 * The de-identification report as files: CSV (one count per row, for spreadsheets) and PDF (the
 * page as a document to file with an IRB or a data protection officer), drawn with pdf-lib (pure
 * JavaScript, so it runs in the web process without a browser). Both carry exactly what
 * getDeidReport returns: counts, codes and rule settings, no identity.
 */
import { PDFDocument, type PDFFont, type PDFPage, StandardFonts, rgb } from 'pdf-lib';
import { SUMMARY_ACTIONS } from '../anonymize/engine';
import { csvCell } from '../pools/identity-map';
import { ACTION_MEANINGS } from './action-meanings';
import type { DeidReport } from './get-deid-report';

export function deidReportCsv(r: DeidReport): string {
  const rows: (string | number)[][] = [['section', 'rule_version', 'item', 'code', 'count']];
  rows.push(['pool', '', r.pool.name, r.pool.id, '']);
  rows.push(['generated_at', '', r.generatedAt, '', '']);
  for (const v of r.versions) {
    rows.push(['rule_version', v.ruleVersion, 'saved_at', '', v.savedAt ?? '']);
    for (const o of v.options) rows.push(['option', v.ruleVersion, o, '', 1]);
    rows.push(['setting', v.ruleVersion, 'quarantine_burned_in', '', v.quarantineBurnedIn ? 1 : 0]);
    rows.push(['setting', v.ruleVersion, 'clinical_trial_stamps', '', v.stamps.clinicalTrial ? 1 : 0]);
    rows.push(['setting', v.ruleVersion, 'longitudinal_offset', '', v.stamps.longitudinal ? 1 : 0]);
    rows.push(['instances', v.ruleVersion, 'deidentified', '', v.deidentified]);
    rows.push(['instances', v.ruleVersion, 'stored', '', v.stored]);
    rows.push(['instances', v.ruleVersion, 'quarantined', '', v.quarantined]);
    rows.push(['instances', v.ruleVersion, 'indexed_now', '', v.indexed]);
    for (const a of SUMMARY_ACTIONS) rows.push(['action', v.ruleVersion, a, '', v.actions[a]]);
    for (const m of v.methodCodes) rows.push(['method_code', v.ruleVersion, m.meaning, m.code, m.instances]);
    for (const k of ['held', 'pending', 'released', 'redacted', 'dropped'] as const) rows.push(['quarantine', v.ruleVersion, k, '', v.quarantine[k]]);
    for (const q of v.quarantine.reasons) {
      for (const k of ['pending', 'released', 'redacted', 'dropped'] as const) rows.push(['quarantine_reason', v.ruleVersion, k, q.code, q[k]]);
    }
    rows.push(['ocr', v.ruleVersion, 'scanned', '', v.ocr.scanned]);
    rows.push(['ocr', v.ruleVersion, 'with_text', '', v.ocr.withText]);
    for (const f of v.ocr.findings) {
      rows.push(['ocr_finding', v.ruleVersion, 'instances', f.category, f.instances]);
      rows.push(['ocr_finding', v.ruleVersion, 'boxes', f.category, f.boxes]);
    }
    rows.push(['redaction', v.ruleVersion, 'instances', '', v.redactions.instances]);
    rows.push(['redaction', v.ruleVersion, 'lossy', '', v.redactions.lossy]);
    for (const x of v.redactions.sources) {
      rows.push(['redaction_source', v.ruleVersion, 'instances', x.source, x.instances]);
      rows.push(['redaction_source', v.ruleVersion, 'regions', x.source, x.regions]);
    }
  }
  // UTF-8 with BOM, so Excel reads it right.
  return `\ufeff${rows.map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

/** Text the standard PDF fonts can draw (WinAnsi): typographic quotes and dashes become ASCII. */
function pdfText(s: string): string {
  return s
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/\u2026/g, '...')
    .replace(/[^\x20-\x7e\xa0-\xff]/g, '?');
}

class Writer {
  page!: PDFPage;
  y = 0;
  readonly margin = 48;
  constructor(
    private doc: PDFDocument,
    private font: PDFFont,
    private bold: PDFFont,
  ) {
    this.newPage();
  }
  newPage() {
    this.page = this.doc.addPage([595.28, 841.89]); // A4
    this.y = this.page.getHeight() - this.margin;
  }
  private ensure(h: number) {
    if (this.y - h < this.margin) this.newPage();
  }
  text(s: string, opts: { size?: number; bold?: boolean; indent?: number; color?: number } = {}) {
    const size = opts.size ?? 10;
    const font = opts.bold ? this.bold : this.font;
    const x = this.margin + (opts.indent ?? 0);
    const width = this.page.getWidth() - x - this.margin;
    // Greedy word wrap.
    const words = pdfText(s).split(/\s+/);
    let line = '';
    const lines: string[] = [];
    for (const w of words) {
      const next = line ? `${line} ${w}` : w;
      if (font.widthOfTextAtSize(next, size) > width && line) {
        lines.push(line);
        line = w;
      } else line = next;
    }
    lines.push(line);
    for (const l of lines) {
      this.ensure(size + 4);
      this.page.drawText(l, { x, y: this.y - size, size, font, color: rgb(opts.color ?? 0, opts.color ?? 0, opts.color ?? 0) });
      this.y -= size + 4;
    }
  }
  /** A row of cells at fixed x offsets (a table without borders). */
  row(cells: string[], cols: number[], opts: { bold?: boolean; size?: number } = {}) {
    const size = opts.size ?? 9;
    this.ensure(size + 4);
    const font = opts.bold ? this.bold : this.font;
    cells.forEach((c, i) => {
      let t = pdfText(c);
      const max = (cols[i + 1] ?? this.page.getWidth() - this.margin * 2) - cols[i] - 6;
      let cut = false;
      while (t.length > 3 && font.widthOfTextAtSize(`${t}...`, size) > max) {
        t = t.slice(0, -1);
        cut = true;
      }
      if (cut) t = `${t}...`;
      this.page.drawText(t, { x: this.margin + cols[i], y: this.y - size, size, font });
    });
    this.y -= size + 4;
  }
  gap(h = 6) {
    this.y -= h;
  }
}

export async function deidReportPdf(r: DeidReport): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle(pdfText(`De-identification report - ${r.pool.name}`));
  doc.setProducer('Tributary');
  doc.setCreationDate(new Date(r.generatedAt));
  const w = new Writer(doc, await doc.embedFont(StandardFonts.Helvetica), await doc.embedFont(StandardFonts.HelveticaBold));

  w.text('De-identification report', { size: 18, bold: true });
  w.text(`Pool: ${r.pool.name}`, { size: 11 });
  w.text(`Generated ${r.generatedAt} - current rule version ${r.currentRuleVersion}`, { size: 9, color: 0.35 });
  w.text('Counts only: no identity, no value of any element. Rules: DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile with the options listed per version.', { size: 9, color: 0.35 });
  w.gap(8);

  w.text('All versions', { size: 13, bold: true });
  w.row(['Instances de-identified', String(r.totals.deidentified), 'stored', String(r.totals.stored), 'quarantined', String(r.totals.quarantined)], [0, 130, 190, 240, 300, 370]);
  const tq = r.totals.quarantine;
  w.row(['Quarantine', `${tq.held} held`, `${tq.pending} pending`, `${tq.released} released`, `${tq.redacted} redacted`, `${tq.dropped} dropped`], [0, 130, 200, 270, 345, 420]);
  w.row(['Pixel redactions', String(r.totals.redactedInstances), 'OCR text boxes', String(r.totals.ocrFindings)], [0, 130, 190, 280]);
  w.gap(4);
  w.row(['Action', 'Elements', 'Meaning'], [0, 90, 160], { bold: true });
  for (const a of SUMMARY_ACTIONS) w.row([ACTION_MEANINGS[a].label, String(r.totals.actions[a]), ACTION_MEANINGS[a].help], [0, 90, 160], { size: 8 });

  for (const v of r.versions) {
    w.gap(10);
    w.text(`Rule version ${v.ruleVersion}${v.ruleVersion === r.currentRuleVersion ? ' (current)' : ''}${v.savedAt ? ` - saved ${v.savedAt.slice(0, 10)}` : ''}`, { size: 13, bold: true });
    w.text(`Options: ${v.options.length ? v.options.join('; ') : 'none (Basic Profile only)'}`, { size: 9 });
    w.text(
      `Quarantine of burned-in risks: ${v.quarantineBurnedIn ? 'on' : 'off'}. Clinical-trial stamps: ${v.stamps.clinicalTrial ? 'on' : 'off'}. Longitudinal offset: ${v.stamps.longitudinal ? 'on' : 'off'}.`,
      { size: 9 },
    );
    w.text(`Instances: ${v.deidentified} de-identified (${v.stored} stored, ${v.quarantined} quarantined); ${v.indexed} in the pool now.`, { size: 9 });
    w.gap(2);
    w.row(['Action', 'Elements'], [0, 90], { bold: true });
    for (const a of SUMMARY_ACTIONS) w.row([ACTION_MEANINGS[a].label, String(v.actions[a])], [0, 90]);
    w.gap(2);
    w.row(['Code', 'Option written into (0012,0064)', 'Instances'], [0, 60, 420], { bold: true });
    if (!v.methodCodes.length) w.row(['-', 'none recorded', ''], [0, 60, 420]);
    for (const m of v.methodCodes) w.row([m.code, m.meaning, String(m.instances)], [0, 60, 420]);
    w.gap(2);
    const cols = [0, 250, 310, 370, 430];
    w.row(['Quarantine reason', 'Pending', 'Released', 'Redacted', 'Dropped'], cols, { bold: true });
    if (!v.quarantine.reasons.length) w.row(['none held', '', '', '', ''], cols);
    for (const q of v.quarantine.reasons) {
      w.row([q.code, String(q.pending), String(q.released), String(q.redacted), String(q.dropped)], cols);
      w.text(q.text, { size: 7, indent: 12, color: 0.35 });
    }
    w.gap(2);
    w.text(`OCR: ${v.ocr.scanned} instances scanned, ${v.ocr.withText} with text found.`, { size: 9 });
    for (const f of v.ocr.findings) w.row([f.category, `${f.instances} instances`, `${f.boxes} boxes`], [12, 160, 260], { size: 8 });
    w.text(
      v.redactions.instances ? `Pixel redactions: ${v.redactions.instances} redacted instances written (${v.redactions.lossy} re-encoded lossily). Regions by source:` : 'Pixel redactions: none recorded.',
      { size: 9 },
    );
    for (const x of v.redactions.sources) w.row([x.source, `${x.instances} instances`, `${x.regions} regions`], [12, 160, 260], { size: 8 });
  }
  return doc.save();
}
