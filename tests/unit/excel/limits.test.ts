import { describe, expect, it } from 'vitest';
import { buildTemplate, parseQuerySpreadsheet } from '@/lib/excel';
import { sanitizeWorkbookZip } from '@/lib/excel/zip';
import { DEFAULT_SPREADSHEET_LIMITS } from '@/lib/excel/limits';
import { expectAppError, rawRow, rawWorkbook, rewriteParts, toBuffer, workbookWithHeader, zip } from './helpers';

const NOT_A_WORKBOOK = 'This file is not an Excel workbook (.xlsx)';
const MiB = 1024 * 1024;

async function smallWorkbook(): Promise<Buffer> {
  const { workbook, sheet } = workbookWithHeader(['PatientID', 'Modality']);
  sheet.addRow(['0012345', 'CT']);
  return toBuffer(workbook);
}

const upload = (buffer: Buffer, fileName = 'query.xlsx', limits?: Parameters<typeof parseQuerySpreadsheet>[1]) =>
  parseQuerySpreadsheet({ buffer, fileName }, limits);

describe('whole-file limits and formats', () => {
  it('refuses an empty upload and a file over the size limit (default 5 MB, configurable)', async () => {
    await expectAppError(upload(Buffer.alloc(0)), 'VALIDATION', 'The file is empty.');
    await expectAppError(upload(Buffer.alloc(5 * MiB + 1, 0x41), 'big.csv'), 'PAYLOAD_TOO_LARGE', 'The file is larger than the limit of 5 MB. Split the rows into smaller files.');
    const small = await smallWorkbook();
    await expectAppError(upload(small, 'query.xlsx', { maxFileBytes: 1024 }), 'PAYLOAD_TOO_LARGE', 'The file is larger than the limit of 1 KB.');
  });

  it('refuses 100,000 rows quickly, before exceljs builds the workbook', async () => {
    const rows = [rawRow(1, ['PatientID', 'Modality'])];
    for (let r = 2; r <= 100_001; r++) rows.push(rawRow(r, [String(r).padStart(8, '0'), 'CT']));
    const file = zip(rawWorkbook(rows.join('')));
    expect(file.length).toBeLessThan(DEFAULT_SPREADSHEET_LIMITS.maxFileBytes);
    const started = performance.now();
    await expectAppError(upload(file), 'PAYLOAD_TOO_LARGE', 'The spreadsheet has more than 5,000 rows. Split it into files of at most 5,000 rows.');
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('enforces the exact row limit on the data rows of the sheet that is read', async () => {
    const { workbook, sheet } = workbookWithHeader(['PatientID']);
    for (let i = 1; i <= 4; i++) sheet.addRow([String(i)]);
    const file = await toBuffer(workbook);
    await expect(upload(file, 'q.xlsx', { maxRows: 4 }).then((r) => r.rows.length)).resolves.toBe(4);
    await expectAppError(upload(file, 'q.xlsx', { maxRows: 3 }), 'PAYLOAD_TOO_LARGE', 'more than 3 rows');
  });

  it('refuses a renamed non-spreadsheet, a zip that is not a workbook, and a damaged workbook', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n');
    await expectAppError(upload(pdf, 'patients.xlsx'), 'UNSUPPORTED_MEDIA_TYPE', NOT_A_WORKBOOK);
    await expectAppError(upload(Buffer.from('PatientID\n0001\n'), 'patients.xlsx'), 'UNSUPPORTED_MEDIA_TYPE', NOT_A_WORKBOOK);
    const docx = zip([{ name: '[Content_Types].xml', data: '<Types/>' }, { name: 'word/document.xml', data: '<w:document/>' }]);
    await expectAppError(upload(docx, 'patients.xlsx'), 'UNSUPPORTED_MEDIA_TYPE', NOT_A_WORKBOOK);
    const good = await smallWorkbook();
    await expectAppError(upload(good.subarray(0, Math.floor(good.length / 2))), 'UNSUPPORTED_MEDIA_TYPE', NOT_A_WORKBOOK);
    const xlsb = zip([{ name: 'xl/workbook.bin', data: Buffer.alloc(10) }]);
    await expectAppError(upload(xlsb, 'q.xlsb'), 'UNSUPPORTED_MEDIA_TYPE', 'Excel Binary Workbook (.xlsb)');
    await expectAppError(upload(pdf, 'patients.pdf'), 'UNSUPPORTED_MEDIA_TYPE', 'Upload an Excel workbook (.xlsx) or a CSV file (.csv).');
  });

  it('refuses old .xls workbooks and password-protected workbooks with a clear way out', async () => {
    const ole = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(504)]);
    await expectAppError(upload(ole, 'patients.xls'), 'UNSUPPORTED_MEDIA_TYPE', 'Old Excel 97–2003 workbooks (.xls) cannot be read.');
    await expectAppError(upload(ole, 'patients.xls'), 'UNSUPPORTED_MEDIA_TYPE', 'Excel Workbook (.xlsx)');
    await expectAppError(upload(ole, 'patients.xlsx'), 'UNSUPPORTED_MEDIA_TYPE', 'This workbook is password-protected');
    await expectAppError(upload(Buffer.from('<html><table><tr><td>1</td></tr></table></html>'), 'export.xls'), 'UNSUPPORTED_MEDIA_TYPE', 'Files named .xls cannot be read.');
  });

  it('refuses a zip bomb from its central directory, without inflating it', async () => {
    const bomb = zip([...rawWorkbook(rawRow(1, ['PatientID'])), { name: 'xl/media/filler.bin', data: Buffer.alloc(60 * MiB) }]);
    expect(bomb.length).toBeLessThan(200 * 1024);
    const started = performance.now();
    await expectAppError(upload(bomb), 'PAYLOAD_TOO_LARGE', 'This workbook expands to far more data than a query spreadsheet holds');
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('refuses a single entry with an extreme compression ratio even under the total cap', async () => {
    const entries = rawWorkbook(rawRow(1, ['PatientID']) + rawRow(2, ['1']));
    const ratioBomb = zip([...entries, { name: 'xl/media/filler.bin', data: Buffer.alloc(20 * MiB) }]);
    await expectAppError(upload(ratioBomb), 'PAYLOAD_TOO_LARGE', 'expands to far more data');
    // The same part with a tolerant ratio limit is accepted: the check is the ratio, not the size.
    const result = await upload(ratioBomb, 'q.xlsx', { maxCompressionRatio: 100_000 });
    expect(result.rows.map((r) => r.patientId)).toEqual(['1']);
  });

  it('refuses a zip whose directory understates an entry size (inflation is checked too)', async () => {
    const entries = rawWorkbook(rawRow(1, ['PatientID']) + rawRow(2, ['1']));
    const lying = zip([...entries, { name: 'xl/media/filler.bin', data: Buffer.alloc(8 * MiB), declaredSize: 1000 }]);
    await expectAppError(upload(lying), 'UNSUPPORTED_MEDIA_TYPE', NOT_A_WORKBOOK);
  });

  it('refuses too many zip entries', async () => {
    const many = [...rawWorkbook(rawRow(1, ['PatientID']))];
    for (let i = 0; i < 1000; i++) many.push({ name: `xl/media/image${i}.png`, data: 'x', store: true });
    await expectAppError(upload(zip(many)), 'PAYLOAD_TOO_LARGE', 'expands to far more data');
  });

  it('refuses too many cells and merged ranges over whole columns', async () => {
    await expectAppError(upload(await smallWorkbook(), 'q.xlsx', { maxCells: 3 }), 'PAYLOAD_TOO_LARGE', 'more than 3 filled or formatted cells');
    const merged = zip(rawWorkbook(rawRow(1, ['PatientID']) + rawRow(2, ['1']), '<mergeCells count="1"><mergeCell ref="D1:D1048576"/></mergeCells>'));
    await expectAppError(upload(merged), 'VALIDATION', 'merged cells covering very large areas');
  });
});

describe('workbook structures exceljs would expand cell by cell', () => {
  // Without sanitizing, exceljs builds one object per covered cell: seconds and hundreds of MB for
  // a whole column, an endless loop for a whole sheet. These files must load in milliseconds.
  it('loads a workbook with a data validation over the whole sheet', async () => {
    const file = await rewriteParts(await smallWorkbook(), (name, xml) =>
      name === 'xl/worksheets/sheet1.xml'
        ? xml.replace('<pageMargins', '<dataValidations count="1"><dataValidation type="list" allowBlank="1" sqref="A1:XFD1048576"><formula1>"CT,MR"</formula1></dataValidation></dataValidations><pageMargins')
        : xml,
    );
    expect(file.toString('latin1')).not.toContain('XFD1048576'); // deflated; sanity check only
    const { strippedParts } = await sanitizeWorkbookZip(file, DEFAULT_SPREADSHEET_LIMITS);
    expect(strippedParts).toEqual(['xl/worksheets/sheet1.xml']);
    const started = performance.now();
    const result = await upload(file);
    expect(result.rows.map((r) => r.patientId)).toEqual(['0012345']);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('loads a workbook with a defined name over the whole sheet', async () => {
    const file = await rewriteParts(await smallWorkbook(), (name, xml) =>
      name === 'xl/workbook.xml'
        ? xml.replace('</sheets>', '</sheets><definedNames><definedName name="everything">Sheet1!$A$1:$XFD$1048576</definedName></definedNames>')
        : xml,
    );
    const started = performance.now();
    const result = await upload(file);
    expect(result.rows.map((r) => r.patientId)).toEqual(['0012345']);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('accepts its own template, whose data validations are stripped on upload', async () => {
    await expectAppError(upload(await buildTemplate()), 'VALIDATION', 'The spreadsheet has a header row but no rows below it.');
  });
});
