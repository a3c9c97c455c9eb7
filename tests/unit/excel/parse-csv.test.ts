import { describe, expect, it } from 'vitest';
import { parseQuerySpreadsheet } from '@/lib/excel';
import { expectAppError } from './helpers';

const csv = (text: string | Buffer, fileName = 'query.csv', contentType?: string) =>
  parseQuerySpreadsheet({ buffer: Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'), fileName, contentType });

describe('parseQuerySpreadsheet (.csv)', () => {
  it('reads comma-separated values as text: leading zeros and number-like values survive', async () => {
    const result = await csv('PatientID,AccessionNumber,StudyDateFrom\r\n0012345,000987,2024-01-15\r\n12345,1E5,20240116\r\n');
    expect(result.rows).toEqual([
      { rowNumber: 2, mergedRowNumbers: [], patientId: '0012345', accessionNumber: '000987', studyDateFrom: '20240115' },
      { rowNumber: 3, mergedRowNumbers: [], patientId: '12345', accessionNumber: '1E5', studyDateFrom: '20240116' },
    ]);
    // Text is text: a CSV cannot tell us an MRN was numeric, so no warning.
    expect(result.warnings).toEqual([]);
  });

  it('reads semicolon-separated UTF-8 with a BOM, quoted fields and non-ASCII names', async () => {
    const text = '\uFEFFMRN;Modality;Description;ResearchName\n"0042";"CT;MR";"Thorax; ""low dose""";Zoë^Ångström\n0043;MR;"two\nlines";Łukasz\n';
    const result = await csv(text);
    expect(result.rows).toEqual([
      {
        rowNumber: 2,
        mergedRowNumbers: [],
        patientId: '0042',
        modality: 'CT\\MR',
        studyDescription: 'Thorax; "low dose"',
        researchName: 'Zoë^Ångström',
      },
    ]);
    // The line break inside a quoted field is a control character in a DICOM description.
    expect(result.invalid).toEqual([
      {
        rowNumber: 3,
        errors: ['StudyDescription must not contain line breaks, tabs or other control characters.'],
        raw: { PatientID: '0043', Modality: 'MR', StudyDescription: 'two\nlines', ResearchName: 'Łukasz' },
      },
    ]);
  });

  it('counts blank lines so row numbers match the spreadsheet, and ignores empty separator-only rows', async () => {
    const result = await csv('PatientID;Modality\n\n0001;CT\n;\n0002*;MR\n;;\n;;\n');
    expect(result.rows.map((r) => [r.rowNumber, r.patientId])).toEqual([[3, '0001']]);
    expect(result.invalid.map((r) => r.rowNumber)).toEqual([5]);
  });

  it('reads tab-separated UTF-16 (Excel "Unicode Text")', async () => {
    const text = 'PatientID\tResearchName\r\n0099\tRenée\r\n';
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const result = await csv(utf16, 'query.txt');
    expect(result.rows).toEqual([{ rowNumber: 2, mergedRowNumbers: [], patientId: '0099', researchName: 'Renée' }]);
  });

  it('falls back to Windows-1252 for non-UTF-8 files, with a warning', async () => {
    // A UTF-8 BOM followed by Windows-1252 bytes: what some editors leave after a bad re-save.
    const latin = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('PatientID;ResearchName\n0001;Ren\xe9e M\xfcller\n', 'latin1')]);
    const result = await csv(latin);
    expect(result.rows).toEqual([{ rowNumber: 2, mergedRowNumbers: [], patientId: '0001', researchName: 'Renée Müller' }]);
    expect(result.warnings).toEqual([
      'The CSV file is not UTF-8; it was read as Windows-1252 (Western European). Check that accented names look right, or save it as "CSV UTF-8" in Excel.',
    ]);
  });

  it('flags MRNs that Excel turned into scientific notation before saving the CSV', async () => {
    const result = await csv('PatientID\n1.23457E+11\n');
    expect(result.invalid[0].errors).toEqual([
      'PatientID looks like a number Excel rounded into scientific notation (such as 1.23E+11); the original digits are lost. Format the column as Text and type the values again.',
    ]);
  });

  it('accepts a file without extension when the browser says it is CSV', async () => {
    const result = await csv('PatientID\n1\n', 'upload', 'text/csv; charset=utf-8');
    expect(result.rows.map((r) => r.patientId)).toEqual(['1']);
  });

  it('refuses an empty CSV, one without PatientID, and one that cannot be parsed', async () => {
    await expectAppError(csv('\uFEFF\r\n;;\r\n'), 'VALIDATION', 'The spreadsheet is empty.');
    await expectAppError(csv('Name,DOB\nDoe,1970-01-01\n'), 'VALIDATION', 'No PatientID column was found.');
    const error = await expectAppError(csv('PatientID,Note\n0001,"unterminated\n'), 'VALIDATION', 'The CSV file could not be read');
    expect(error.message).not.toContain('unterminated');
  });

  it('refuses 100,000 rows quickly, without parsing the whole file', async () => {
    const lines = ['PatientID'];
    for (let i = 0; i < 100_000; i++) lines.push(String(i).padStart(8, '0'));
    const started = performance.now();
    await expectAppError(csv(lines.join('\n')), 'PAYLOAD_TOO_LARGE', 'The spreadsheet has more than 5,000 rows.');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('applies a custom row limit to the data rows', async () => {
    await expect(csv('PatientID\n1\n2\n', 'q.csv').then((r) => r.rows.length)).resolves.toBe(2);
    await expectAppError(
      parseQuerySpreadsheet({ buffer: Buffer.from('PatientID\n1\n2\n3\n'), fileName: 'q.csv' }, { maxRows: 2 }),
      'PAYLOAD_TOO_LARGE',
      'The spreadsheet has more than 2 rows. Split it into files of at most 2 rows.',
    );
  });
});
