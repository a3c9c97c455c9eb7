import type ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { parseQuerySpreadsheet, type ParsedSpreadsheet } from '@/lib/excel';
import { expectAppError, rawRow, rawWorkbook, toBuffer, utc, workbookWithHeader, zip } from './helpers';

async function parseWorkbook(workbook: ExcelJS.Workbook): Promise<ParsedSpreadsheet> {
  return parseQuerySpreadsheet({ buffer: await toBuffer(workbook), fileName: 'query.xlsx' });
}

/** One-column sheet "PatientID" with the given cell values from row 2 on. */
async function parsePatientIds(...values: ExcelJS.CellValue[]): Promise<ParsedSpreadsheet> {
  const { workbook, sheet } = workbookWithHeader(['PatientID']);
  values.forEach((v, i) => (sheet.getCell(i + 2, 1).value = v));
  return parseWorkbook(workbook);
}

describe('parseQuerySpreadsheet (.xlsx): values', () => {
  it('keeps leading zeros of text MRNs and cleans invisible characters', async () => {
    const result = await parsePatientIds('0012345', '\u200B000789\u00A0', ' 00X ');
    expect(result.rows.map((r) => r.patientId)).toEqual(['0012345', '000789', '00X']);
    expect(result.warnings).toEqual([]);
  });

  it('writes numeric cells as integer strings and warns that the MRN may have lost zeros', async () => {
    const result = await parsePatientIds(12345, 'A1', 67890);
    expect(result.rows.map((r) => r.patientId)).toEqual(['12345', 'A1', '67890']);
    expect(result.warnings).toEqual([
      'PatientID was stored as a number in rows 2 and 4: any leading zeros were lost. Check those MRNs, or format the PatientID column as Text and type them again.',
    ]);
  });

  it('reads a number stored in exponent form (as some programs write it) as plain digits', async () => {
    const sheet = rawRow(1, ['PatientID', 'AccessionNumber']) + '<row r="2"><c r="A2"><v>1.2345E+4</v></c><c r="B2"><v>12345.0</v></c></row>';
    const result = await parseQuerySpreadsheet({ buffer: zip(rawWorkbook(sheet)), fileName: 'q.xlsx' });
    expect(result.rows).toEqual([{ rowNumber: 2, mergedRowNumbers: [], patientId: '12345', accessionNumber: '12345' }]);
  });

  it("reads Excel's own dialect: shared strings, built-in date format, shared formulas, inline rich text", async () => {
    const sheet =
      rawRow(1, ['PatientID', 'StudyDateFrom']) +
      '<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" s="1"><v>45306</v></c></row>' +
      '<row r="3"><c r="A3" t="s"><v>1</v></c><c r="B3" s="1"><f t="shared" ref="B3:B4" si="0">B2+1</f><v>45307</v></c></row>' +
      '<row r="4"><c r="A4" t="inlineStr"><is><r><t>00</t></r><r><rPr><b/></rPr><t>77</t></r></is></c><c r="B4" s="1"><f t="shared" si="0"/><v>45308</v></c></row>';
    const result = await parseQuerySpreadsheet({ buffer: zip(rawWorkbook(sheet, '', ['0012', ' 0034 '])), fileName: 'q.xlsx' });
    expect(result.rows).toEqual([
      { rowNumber: 2, mergedRowNumbers: [], patientId: '0012', studyDateFrom: '20240115' },
      { rowNumber: 3, mergedRowNumbers: [], patientId: '0034', studyDateFrom: '20240116' },
      { rowNumber: 4, mergedRowNumbers: [], patientId: '0077', studyDateFrom: '20240117' },
    ]);
  });

  it('refuses MRNs Excel has already damaged: >15-digit numbers, scientific notation, dates', async () => {
    const result = await parsePatientIds(1234567890123456, '1.23457E+11', utc(2024, 3, 12), true, { error: '#N/A' } as ExcelJS.CellErrorValue);
    expect(result.rows).toEqual([]);
    expect(result.invalid.map((r) => [r.rowNumber, r.errors])).toEqual([
      [2, ['PatientID is a number with more than 15 digits, which Excel has already rounded. Format the column as Text and type the value again.']],
      [
        3,
        [
          'PatientID looks like a number Excel rounded into scientific notation (such as 1.23E+11); the original digits are lost. Format the column as Text and type the values again.',
        ],
      ],
      [4, ['PatientID holds a date: Excel may have turned the value into one (3-12 becomes 12 March). Format the column as Text and type the value again.']],
      [5, ['PatientID holds TRUE or FALSE, not a value.']],
      [6, ['PatientID holds the Excel error #N/A; fix the cell or its formula.']],
    ]);
    expect(result.invalid.map((r) => r.raw.PatientID)).toEqual(['1234567890123456', '1.23457E+11', '2024-03-12', 'TRUE', '#N/A']);
  });

  it('uses cached formula results, never evaluates, and reports formulas without one or with an error', async () => {
    const result = await parsePatientIds(
      { formula: 'TEXT(123,"0000000")', result: '0000123' },
      { formula: '1+1', result: 2 },
      { formula: 'VLOOKUP(1,Z:Z,1,0)', result: { error: '#REF!' } } as ExcelJS.CellFormulaValue,
      { formula: '"0"&"1"' } as ExcelJS.CellFormulaValue,
    );
    expect(result.rows.map((r) => [r.rowNumber, r.patientId])).toEqual([
      [2, '0000123'],
      [3, '2'],
    ]);
    expect(result.invalid.map((r) => [r.rowNumber, r.errors])).toEqual([
      [4, ['PatientID holds the Excel error #REF!; fix the cell or its formula.']],
      [
        5,
        [
          'PatientID is a formula without a saved result. Open and save the file in Excel (which stores the results), or paste values instead of formulas.',
        ],
      ],
    ]);
  });

  it('reads dates from date cells, date strings and YYYYMMDD numbers; refuses other numbers', async () => {
    const { workbook, sheet } = workbookWithHeader(['PatientID', 'StudyDateFrom', 'StudyDateTo']);
    sheet.addRow(['1', utc(2024, 1, 15), '2024-02-29']);
    sheet.addRow(['2', 20240101, '2024/12/31']);
    sheet.addRow(['3', 45000, '']);
    const date = sheet.getCell('B5');
    date.value = 45306; // 2024-01-15 as an Excel serial, with a date format
    date.numFmt = 'dd/mm/yyyy';
    sheet.getCell('A5').value = '4';
    const result = await parseWorkbook(workbook);
    expect(result.rows.map((r) => [r.rowNumber, r.studyDateFrom, r.studyDateTo])).toEqual([
      [2, '20240115', '20240229'],
      [3, '20240101', '20241231'],
      [5, '20240115', undefined],
    ]);
    expect(result.invalid).toEqual([
      {
        rowNumber: 4,
        errors: ['StudyDateFrom holds a number, not a date. Enter the date as YYYY-MM-DD or format the cell as a date.'],
        raw: { PatientID: '3', StudyDateFrom: '45000', StudyDateTo: '' },
      },
    ]);
  });

  it('reads a single StudyDate column as that one day, and refuses it beside a range', async () => {
    const { workbook, sheet } = workbookWithHeader(['MRN', 'Study Date', 'StudyDateTo']);
    sheet.addRow(['1', '2024-05-06', '']);
    sheet.addRow(['2', '2024-05-06', '2024-06-01']);
    sheet.addRow(['3', '06/05/2024', '']);
    const result = await parseWorkbook(workbook);
    expect(result.rows).toEqual([{ rowNumber: 2, mergedRowNumbers: [], patientId: '1', studyDateFrom: '20240506', studyDateTo: '20240506' }]);
    expect(result.invalid.map((r) => [r.rowNumber, r.errors])).toEqual([
      [3, ['Use either StudyDate or StudyDateFrom/StudyDateTo in a row, not both.']],
      [4, ['StudyDate: a date like 03/04/2024 is ambiguous (day or month first?). Write it as YYYY-MM-DD, e.g. 2024-04-03, or use a date cell.']],
    ]);
  });
});

describe('parseQuerySpreadsheet (.xlsx): headers, sheets and rows', () => {
  it('matches headers case-, space- and punctuation-insensitively, with aliases', async () => {
    const { workbook, sheet } = workbookWithHeader([' patient_id (required)', 'ACCESSION', 'modalities', 'Date From', 'to date', 'Description', 'Subject ID', 'pseudonym']);
    sheet.addRow(['007', 'A7', 'mr', '2020-01-01', '2020-12-31', 'KNEE', 'S7', 'SEVEN^S']);
    const result = await parseWorkbook(workbook);
    expect(result.rows).toEqual([
      {
        rowNumber: 2,
        mergedRowNumbers: [],
        patientId: '007',
        accessionNumber: 'A7',
        modality: 'MR',
        studyDateFrom: '20200101',
        studyDateTo: '20201231',
        studyDescription: 'KNEE',
        researchId: 'S7',
        researchName: 'SEVEN^S',
      },
    ]);
  });

  it('finds a header below a title row and keeps the sheet row numbers', async () => {
    const { workbook, sheet } = workbookWithHeader(['Cohort 2024 — imaging request']);
    sheet.getRow(3).values = ['Medical Record Number', 'Comment'];
    sheet.getRow(4).values = ['0001', 'x'];
    sheet.getRow(6).values = ['0002*'];
    const result = await parseWorkbook(workbook);
    expect(result.rows.map((r) => [r.rowNumber, r.patientId])).toEqual([[4, '0001']]);
    expect(result.invalid.map((r) => r.rowNumber)).toEqual([6]);
    expect(result.warnings).toEqual([
      'The header row is row 3; the rows above it were ignored.',
      'Columns that are not part of the template were ignored: "Comment".',
    ]);
  });

  it('reports values under a blank header and hidden rows', async () => {
    const { workbook, sheet } = workbookWithHeader(['PatientID', 'Modality']);
    sheet.getRow(2).values = ['1', 'CT', undefined, 'stray'];
    sheet.getRow(3).values = ['2'];
    sheet.getRow(4).values = ['3'];
    sheet.getRow(3).hidden = true;
    sheet.getRow(4).hidden = true;
    const result = await parseWorkbook(workbook);
    expect(result.rows.map((r) => r.patientId)).toEqual(['1', '2', '3']);
    expect(result.warnings).toEqual([
      'Column D has values but no header and was ignored.',
      'Rows 3 and 4 are hidden in Excel (or filtered out) and were read like any other row.',
    ]);
  });

  it('refuses two columns that mean the same thing', async () => {
    const { workbook } = workbookWithHeader(['PatientID', 'Modality', 'MRN']);
    await expectAppError(parseWorkbook(workbook), 'VALIDATION', 'Columns A and C are both read as PatientID. Keep one of them, or rename the other.');
  });

  it('reads the first sheet with a PatientID column, never the Instructions sheet', async () => {
    const { workbook } = workbookWithHeader(['PatientID', 'What to enter'], 'Instructions');
    workbook.getWorksheet('Instructions')!.addRow(['PatientID', 'the MRN']);
    workbook.addWorksheet('Notes').addRow(['meeting notes']);
    const query = workbook.addWorksheet('Cohort');
    query.addRow(['MRN']);
    query.addRow(['42']);
    const result = await parseWorkbook(workbook);
    expect(result.rows).toEqual([{ rowNumber: 2, mergedRowNumbers: [], patientId: '42' }]);
    expect(result.warnings).toEqual(['Only the sheet "Cohort" was read. Other sheets with data were ignored: "Notes".']);
  });

  it('refuses an empty workbook, a header without rows, and a sheet without a PatientID column', async () => {
    const empty = workbookWithHeader([]).workbook;
    await expectAppError(parseWorkbook(empty), 'VALIDATION', 'The spreadsheet is empty.');
    const headerOnly = workbookWithHeader(['PatientID', 'Modality']).workbook;
    await expectAppError(parseWorkbook(headerOnly), 'VALIDATION', 'The spreadsheet has a header row but no rows below it.');
    const { workbook, sheet } = workbookWithHeader(['Name', 'Hospital number (old)']);
    sheet.addRow(['Doe', '0012345']);
    const error = await expectAppError(parseWorkbook(workbook), 'VALIDATION', 'No PatientID column was found.');
    expect(error.message).not.toContain('0012345');
  });

  it('reports each bad row with its row number and every reason, while the good rows pass', async () => {
    const { workbook, sheet } = workbookWithHeader(['PatientID', 'AccessionNumber', 'Modality', 'StudyDateFrom', 'StudyDateTo']);
    sheet.addRow(['100', 'A1', 'CT', '2024-01-01', '2024-12-31']);
    sheet.addRow(['', 'A2', 'MRI', '2024-13-01', '']);
    sheet.addRow(['101', 'ACCESSION-TOO-LONG-1', 'CT', '2024-06-01', '2024-01-01']);
    sheet.addRow(['102']);
    const result = await parseWorkbook(workbook);
    expect(result.rows.map((r) => [r.rowNumber, r.patientId])).toEqual([
      [2, '100'],
      [5, '102'],
    ]);
    expect(result.invalid).toEqual([
      {
        rowNumber: 3,
        errors: ['PatientID is required.', 'Modality: write MR instead of MRI (DICOM modality codes).', 'StudyDateFrom is not a real calendar date.'],
        raw: { PatientID: '', AccessionNumber: 'A2', Modality: 'MRI', StudyDateFrom: '2024-13-01', StudyDateTo: '' },
      },
      {
        rowNumber: 4,
        errors: ['AccessionNumber is longer than 16 characters.', 'StudyDateFrom is after StudyDateTo.'],
        raw: { PatientID: '101', AccessionNumber: 'ACCESSION-TOO-LONG-1', Modality: 'CT', StudyDateFrom: '2024-06-01', StudyDateTo: '2024-01-01' },
      },
    ]);
  });

  it('merges duplicate rows after normalization and records the merged row numbers', async () => {
    const { workbook, sheet } = workbookWithHeader(['PatientID', 'Modality', 'StudyDateFrom']);
    sheet.addRow(['0012345', 'CT,MR', '2024-01-05']);
    sheet.addRow(['0012345', 'CT']);
    sheet.addRow(['0012345 ', 'ct\\mr', '20240105']);
    sheet.addRow(['12345', 'CT,MR', '2024-01-05']);
    sheet.addRow(['0012345', 'CT; MR', utc(2024, 1, 5)]);
    const result = await parseWorkbook(workbook);
    expect(result.rows.map((r) => [r.rowNumber, r.patientId, r.modality, r.mergedRowNumbers])).toEqual([
      [2, '0012345', 'CT\\MR', [4, 6]],
      [3, '0012345', 'CT', []],
      [5, '12345', 'CT\\MR', []],
    ]);
    expect(result.duplicatesMerged).toBe(2);
  });

  it('refuses rows that would give one patient two research identities, or two patients one', async () => {
    const { workbook, sheet } = workbookWithHeader(['PatientID', 'Modality', 'ResearchID', 'ResearchName']);
    sheet.addRow(['P1', 'CT', 'R1', 'ONE']);
    sheet.addRow(['P1', 'MR', 'R1', 'ONE']); // same identity, other criteria: fine
    sheet.addRow(['P2', 'CT', 'R2']);
    sheet.addRow(['P2', 'MR', 'R3']); // P2 with two research IDs
    sheet.addRow(['P4', 'CT', 'R1']); // R1 already belongs to P1
    sheet.addRow(['P5', 'CT', 'R5', 'FIVE']);
    sheet.addRow(['P5', 'MR', '', 'CINQ']); // P5 with two research names
    sheet.addRow(['P9', 'CT', 'R9', 'NINE']);
    const result = await parseWorkbook(workbook);
    expect(result.rows.map((r) => r.rowNumber)).toEqual([9]);
    expect(result.invalid.map((r) => [r.rowNumber, r.errors])).toEqual([
      [2, ['The same ResearchID is given to different PatientIDs in rows 2, 3 and 6.']],
      [3, ['The same ResearchID is given to different PatientIDs in rows 2, 3 and 6.']],
      [4, ['The same PatientID has different ResearchIDs in rows 4 and 5.']],
      [5, ['The same PatientID has different ResearchIDs in rows 4 and 5.']],
      [6, ['The same ResearchID is given to different PatientIDs in rows 2, 3 and 6.']],
      [7, ['The same PatientID has different ResearchNames in rows 7 and 8.']],
      [8, ['The same PatientID has different ResearchNames in rows 7 and 8.']],
    ]);
  });
});
