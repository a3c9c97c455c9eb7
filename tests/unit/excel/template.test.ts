import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { buildTemplate, parseQuerySpreadsheet, QUERY_COLUMNS } from '@/lib/excel';
import { toBuffer, utc } from './helpers';

async function loadTemplate(): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load((await buildTemplate()) as unknown as ExcelJS.Buffer);
  return workbook;
}

describe('buildTemplate', () => {
  it('has a Query sheet with the header only, text columns and date columns', async () => {
    const workbook = await loadTemplate();
    expect(workbook.worksheets.map((s) => s.name)).toEqual(['Query', 'Instructions']);
    const sheet = workbook.getWorksheet('Query')!;
    expect(sheet.getRow(1).values).toEqual([undefined, ...QUERY_COLUMNS]);
    // No example row: it would be queried at the PACS if left in.
    expect(sheet.actualRowCount).toBe(1);
    const formats = QUERY_COLUMNS.map((_, i) => sheet.getColumn(i + 1).numFmt);
    expect(formats).toEqual(['@', '@', '@', 'yyyy-mm-dd', 'yyyy-mm-dd', '@', '@', '@']);
  });

  it('explains every column and the accepted date formats in the Instructions sheet', async () => {
    const sheet = (await loadTemplate()).getWorksheet('Instructions')!;
    const text: string[] = [];
    sheet.eachRow((row) => row.eachCell((cell) => text.push(String(cell.value))));
    const all = text.join('\n');
    for (const column of QUERY_COLUMNS) expect(text).toContain(column);
    expect(all).toContain('YYYY-MM-DD (2024-03-15)');
    expect(all).toContain('YYYYMMDD (20240315)');
    expect(all).toContain('Refused: 03/04/2024');
    expect(all).toContain('At most 5,000 rows and 5 MB per file.');
  });

  it('quotes the limits it is given', async () => {
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load((await buildTemplate({ limits: { maxRows: 200, maxFileBytes: 1024 * 1024 } })) as unknown as ExcelJS.Buffer);
    const text: string[] = [];
    workbook.getWorksheet('Instructions')!.eachRow((row) => row.eachCell((cell) => text.push(String(cell.value))));
    expect(text.join('\n')).toContain('At most 200 rows and 1 MB per file.');
  });

  it('round trip: the template filled in as a coordinator would parses to the expected rows', async () => {
    const workbook = await loadTemplate();
    const sheet = workbook.getWorksheet('Query')!;
    sheet.getCell('I1').value = 'Notes';
    const put = (row: number, values: Partial<Record<(typeof QUERY_COLUMNS)[number] | 'Notes', ExcelJS.CellValue>>) => {
      for (const [column, value] of Object.entries(values)) {
        const index = column === 'Notes' ? 9 : QUERY_COLUMNS.indexOf(column as (typeof QUERY_COLUMNS)[number]) + 1;
        sheet.getCell(row, index).value = value;
      }
    };
    // 2: text MRN with leading zeros, a date cell, an ISO date string, every optional column.
    put(2, {
      PatientID: '0012345',
      Modality: 'CT',
      StudyDateFrom: utc(2024, 1, 15),
      StudyDateTo: '2024-03-31',
      StudyDescription: 'THORAX',
      ResearchID: 'SUBJ-001',
      ResearchName: 'SUBJECT^001',
      Notes: 'call back',
    });
    // 3: an MRN typed as a number: accepted, with a warning.
    put(3, { PatientID: 12345, AccessionNumber: 987654 });
    // 4: formulas with cached results, including a date.
    put(4, {
      PatientID: { formula: 'CONCATENATE("00","98765")', result: '0098765' },
      StudyDateFrom: { formula: 'DATE(2023,12,1)', result: utc(2023, 12, 1) },
    });
    // 5: rich text and a hyperlink.
    put(5, {
      PatientID: { richText: [{ text: 'AB' }, { text: '-77', font: { bold: true } }] },
      AccessionNumber: { text: 'ACC5', hyperlink: 'https://ris.example/ACC5' },
    });
    // 6-7: PatientID merged over two rows: only the top-left cell holds it.
    put(6, { PatientID: 'M-6', Modality: 'CT' });
    put(7, { Modality: 'MR' });
    sheet.mergeCells('A6:A7');
    // 8: non-ASCII text.
    put(8, { PatientID: 'Ü-100', StudyDescription: 'Tête et cou', ResearchName: 'Zoë^Ångström' });
    // 9: a YYYYMMDD typed into a date column without a date format arrives as a number.
    put(9, { PatientID: '0000042', StudyDateFrom: 20240201 });
    // 10: the same criteria as row 2, written differently: merged, not queried twice.
    put(10, {
      PatientID: ' 0012345',
      Modality: 'ct',
      StudyDateFrom: '20240115',
      StudyDateTo: '20240331',
      StudyDescription: 'THORAX',
      ResearchID: 'SUBJ-001',
      ResearchName: 'SUBJECT^001',
    });
    // 11-13: bad rows.
    put(11, { PatientID: '0011111', AccessionNumber: { formula: 'A11&"X"' } as ExcelJS.CellFormulaValue });
    put(12, { PatientID: '0022222', StudyDateFrom: '03/04/2024' });
    put(13, { PatientID: '00*' });
    // 14: formatting only, no value: not a row.
    sheet.getCell('B14').fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFF0000' } };

    const result = await parseQuerySpreadsheet({ buffer: await toBuffer(workbook), fileName: 'study.xlsx' });

    expect(result.rows).toEqual([
      {
        rowNumber: 2,
        mergedRowNumbers: [10],
        patientId: '0012345',
        modality: 'CT',
        studyDateFrom: '20240115',
        studyDateTo: '20240331',
        studyDescription: 'THORAX',
        researchId: 'SUBJ-001',
        researchName: 'SUBJECT^001',
      },
      { rowNumber: 3, mergedRowNumbers: [], patientId: '12345', accessionNumber: '987654' },
      { rowNumber: 4, mergedRowNumbers: [], patientId: '0098765', studyDateFrom: '20231201' },
      { rowNumber: 5, mergedRowNumbers: [], patientId: 'AB-77', accessionNumber: 'ACC5' },
      { rowNumber: 6, mergedRowNumbers: [], patientId: 'M-6', modality: 'CT' },
      { rowNumber: 8, mergedRowNumbers: [], patientId: 'Ü-100', studyDescription: 'Tête et cou', researchName: 'Zoë^Ångström' },
      { rowNumber: 9, mergedRowNumbers: [], patientId: '0000042', studyDateFrom: '20240201' },
    ]);
    expect(result.duplicatesMerged).toBe(1);
    expect(result.invalid).toEqual([
      {
        rowNumber: 7,
        errors: [
          'PatientID is empty because the cell is part of a merged range, where only the top-left cell holds the value. Unmerge the cells and fill in every row.',
        ],
        raw: { ...emptyRaw(), Modality: 'MR' },
      },
      {
        rowNumber: 11,
        errors: [
          'AccessionNumber is a formula without a saved result. Open and save the file in Excel (which stores the results), or paste values instead of formulas.',
        ],
        raw: { ...emptyRaw(), PatientID: '0011111', AccessionNumber: '=A11&"X"' },
      },
      {
        rowNumber: 12,
        errors: [
          'StudyDateFrom: a date like 03/04/2024 is ambiguous (day or month first?). Write it as YYYY-MM-DD, e.g. 2024-04-03, or use a date cell.',
        ],
        raw: { ...emptyRaw(), PatientID: '0022222', StudyDateFrom: '03/04/2024' },
      },
      {
        rowNumber: 13,
        errors: ['PatientID must not contain * or ?: a wildcard would match many patients.'],
        raw: { ...emptyRaw(), PatientID: '00*' },
      },
    ]);
    expect(result.warnings).toEqual([
      'Columns that are not part of the template were ignored: "Notes".',
      'PatientID was stored as a number in row 3: any leading zeros were lost. Check those MRNs, or format the PatientID column as Text and type them again.',
      'Row 7 contains merged cells: only the top-left cell of a merged range keeps its value, the others were read as empty. Unmerge the cells and fill in every row that needs the value.',
    ]);
  });
});

function emptyRaw(): Record<string, string> {
  return Object.fromEntries(QUERY_COLUMNS.map((c) => [c, '']));
}
