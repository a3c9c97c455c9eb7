/**
 * Files written by LibreOffice Calc (see tests/fixtures/spreadsheets/README.md): the parser must
 * read what a desktop spreadsheet program writes, not only what exceljs writes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseQuerySpreadsheet } from '@/lib/excel';

const fixture = (name: string) => ({
  buffer: readFileSync(path.resolve(__dirname, '../../fixtures/spreadsheets', name)),
  fileName: name,
});

const filledTemplateRows = [
  { rowNumber: 2, mergedRowNumbers: [], patientId: '0012345', modality: 'CT', studyDateFrom: '20240115', studyDateTo: '20240331' },
  { rowNumber: 3, mergedRowNumbers: [], patientId: '12345' },
  { rowNumber: 4, mergedRowNumbers: [], patientId: '0098765' },
  { rowNumber: 5, mergedRowNumbers: [], patientId: 'AB-77', accessionNumber: 'ACC5' },
  { rowNumber: 6, mergedRowNumbers: [], patientId: 'M-6' },
  { rowNumber: 8, mergedRowNumbers: [], patientId: 'Ü-100', researchName: 'Zoë^Ångström' },
];

describe('spreadsheets written by LibreOffice Calc', () => {
  it('reads our template after a LibreOffice round trip', async () => {
    const result = await parseQuerySpreadsheet(fixture('libreoffice-template-roundtrip.xlsx'));
    expect(result.rows).toEqual(filledTemplateRows);
    expect(result.invalid.map((r) => [r.rowNumber, r.errors])).toEqual([
      [7, ['PatientID is empty because the cell is part of a merged range, where only the top-left cell holds the value. Unmerge the cells and fill in every row.']],
    ]);
    expect(result.warnings).toEqual([
      'PatientID was stored as a number in row 3: any leading zeros were lost. Check those MRNs, or format the PatientID column as Text and type them again.',
      'Row 7 contains merged cells: only the top-left cell of a merged range keeps its value, the others were read as empty. Unmerge the cells and fill in every row that needs the value.',
    ]);
  });

  it('warns when a CSV opened and saved as a workbook turned MRNs into numbers', async () => {
    const result = await parseQuerySpreadsheet(fixture('libreoffice-opened-csv.xlsx'));
    expect(result.rows).toEqual([
      { rowNumber: 2, mergedRowNumbers: [], patientId: '12345', studyDateFrom: '20240115', modality: 'CT' },
      { rowNumber: 3, mergedRowNumbers: [], patientId: '42', studyDateFrom: '20240201', modality: 'MR' },
      { rowNumber: 4, mergedRowNumbers: [], patientId: 'AB-9', studyDateFrom: '20240301', modality: 'CT' },
    ]);
    expect(result.warnings).toEqual([
      'PatientID was stored as a number in rows 2 and 3: any leading zeros were lost. Check those MRNs, or format the PatientID column as Text and type them again.',
    ]);
  });

  it('reads its Windows-1252 CSV export', async () => {
    const result = await parseQuerySpreadsheet(fixture('libreoffice-export-windows-1252.csv'));
    expect(result.rows).toEqual(filledTemplateRows);
    expect(result.warnings).toEqual([
      'The CSV file is not UTF-8; it was read as Windows-1252 (Western European). Check that accented names look right, or save it as "CSV UTF-8" in Excel.',
    ]);
  });
});
