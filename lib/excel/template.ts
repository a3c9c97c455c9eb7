/**
 * The query template coordinators download from the query page.
 *
 * Sheet "Query": the header row only. There is deliberately no example row: an example MRN left
 * in place would be queried at the real PACS. Every non-date column is formatted as Text ('@')
 * for the whole column, so Excel keeps what is typed (0012345 stays 0012345, 3-12 does not become
 * a date). The two date columns are formatted as dates shown as YYYY-MM-DD: Excel then reads what
 * the coordinator types in their own locale's order, stores an unambiguous date, and shows it back
 * in ISO form so a misread is visible at once.
 *
 * Sheet "Instructions": each column, the accepted date forms and the limits.
 */
import ExcelJS from 'exceljs';
import { columnLetter, HEADER_ALIASES } from './columns';
import { formatBytes, formatCount, resolveLimits, type SpreadsheetLimits } from './limits';
import { MAX_LENGTH, QUERY_COLUMNS, type QueryColumn } from './schema';

export const TEMPLATE_FILE_NAME = 'tributary-query-template.xlsx';
export const TEMPLATE_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
export const QUERY_SHEET_NAME = 'Query';
export const INSTRUCTIONS_SHEET_NAME = 'Instructions';

const DATE_COLUMNS = new Set<QueryColumn>(['StudyDateFrom', 'StudyDateTo']);

interface ColumnHelp {
  required: boolean;
  what: string;
  example: string;
  width: number;
}

const HELP: Record<QueryColumn, ColumnHelp> = {
  PatientID: {
    required: true,
    what: `The patient's MRN exactly as the PACS knows it, leading zeros included (at most ${MAX_LENGTH.PatientID} characters). No * or ? : a row never matches more than one patient.`,
    example: '0012345',
    width: 18,
  },
  AccessionNumber: {
    required: false,
    what: `Only the study with this accession number (at most ${MAX_LENGTH.AccessionNumber} characters).`,
    example: 'A20240001',
    width: 18,
  },
  Modality: {
    required: false,
    what: 'Only studies containing these DICOM modality codes. Several codes: separate with commas.',
    example: 'CT, MR',
    width: 12,
  },
  StudyDateFrom: {
    required: false,
    what: 'Only studies on or after this date.',
    example: '2024-01-31',
    width: 15,
  },
  StudyDateTo: {
    required: false,
    what: 'Only studies on or before this date. Same day as StudyDateFrom = that day only.',
    example: '2024-12-31',
    width: 15,
  },
  StudyDescription: {
    required: false,
    what: `Only studies whose description contains this text (at most ${MAX_LENGTH.StudyDescription} characters).`,
    example: 'THORAX',
    width: 24,
  },
  ResearchID: {
    required: false,
    what: `The research ID (pseudonym) this patient gets in the pool, if the pool's rules use it. One patient, one research ID; never the same research ID for two patients.`,
    example: 'SUBJ-001',
    width: 16,
  },
  ResearchName: {
    required: false,
    what: `The research patient name, if the pool's rules use it (at most ${MAX_LENGTH.ResearchName} characters; no \\ * ? =).`,
    example: 'SUBJECT^001',
    width: 18,
  },
};

export interface TemplateOptions {
  /** Limits quoted in the Instructions sheet; pass the same ones the upload route uses. */
  limits?: Partial<SpreadsheetLimits>;
}

export async function buildTemplate(options: TemplateOptions = {}): Promise<Buffer> {
  const limits = resolveLimits(options.limits);
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'Tributary';
  // A fixed timestamp keeps the template byte-stable between downloads.
  workbook.created = workbook.modified = new Date(Date.UTC(2024, 0, 1));

  addQuerySheet(workbook, limits);
  addInstructionsSheet(workbook, limits);
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

function addQuerySheet(workbook: ExcelJS.Workbook, limits: SpreadsheetLimits): void {
  const sheet = workbook.addWorksheet(QUERY_SHEET_NAME, { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.columns = QUERY_COLUMNS.map((column) => ({
    header: column,
    key: column,
    width: HELP[column].width,
    // Column-level formats apply to every cell of the column, including the ones typed later.
    style: { numFmt: DATE_COLUMNS.has(column) ? 'yyyy-mm-dd' : '@' },
  }));

  const header = sheet.getRow(1);
  header.font = { bold: true };
  QUERY_COLUMNS.forEach((column, i) => {
    const cell = header.getCell(i + 1);
    cell.numFmt = '@';
    cell.fill = {
      type: 'pattern',
      pattern: 'solid',
      fgColor: { argb: HELP[column].required ? 'FFFFD966' : 'FFD9E1F2' },
    };
  });

  // In-Excel hints for the values that have hard length limits. Upload validation is the real
  // check; these only catch mistakes while typing.
  const lastRow = limits.maxRows + 1;
  // exceljs 4.4 supports range validations at runtime but its typings omit `dataValidations`.
  const validations = (sheet as unknown as { dataValidations: { add(range: string, rule: ExcelJS.DataValidation): void } })
    .dataValidations;
  const lengthRule = (column: QueryColumn, max: number, prompt?: string) => {
    const letter = columnLetter(QUERY_COLUMNS.indexOf(column) + 1);
    validations.add(`${letter}2:${letter}${lastRow}`, {
      type: 'textLength',
      operator: 'lessThanOrEqual',
      formulae: [max],
      allowBlank: true,
      showErrorMessage: true,
      errorStyle: 'stop',
      errorTitle: column,
      error: `${column}: at most ${max} characters.`,
      ...(prompt ? { showInputMessage: true, promptTitle: column, prompt } : {}),
    });
  };
  lengthRule('PatientID', MAX_LENGTH.PatientID, 'Required. The MRN exactly as in the PACS, leading zeros included. No * or ?.');
  lengthRule('AccessionNumber', MAX_LENGTH.AccessionNumber);
  lengthRule('StudyDescription', MAX_LENGTH.StudyDescription);
  lengthRule('ResearchID', MAX_LENGTH.ResearchID);
  lengthRule('ResearchName', MAX_LENGTH.ResearchName);
}

function addInstructionsSheet(workbook: ExcelJS.Workbook, limits: SpreadsheetLimits): void {
  const sheet = workbook.addWorksheet(INSTRUCTIONS_SHEET_NAME);
  sheet.columns = [
    { key: 'column', width: 20 },
    { key: 'required', width: 10 },
    { key: 'what', width: 70 },
    { key: 'example', width: 16 },
    { key: 'aliases', width: 40 },
  ];
  const wrap: Partial<ExcelJS.Alignment> = { wrapText: true, vertical: 'top' };

  const title = sheet.addRow(['How to fill in the Query sheet']);
  title.font = { bold: true, size: 14 };
  paragraph(sheet, 'One row per patient (or per study, with narrowing columns). Only PatientID is required; every other column narrows the search. Leave a cell empty to not narrow by it. Do not add example rows: every row is queried.');
  sheet.addRow([]);

  const head = sheet.addRow(['Column', 'Required', 'What to enter', 'Example', 'Also accepted as header']);
  head.font = { bold: true };
  for (const column of QUERY_COLUMNS) {
    const help = HELP[column];
    const row = sheet.addRow([column, help.required ? 'Yes' : 'No', help.what, help.example, HEADER_ALIASES[column].join(', ')]);
    row.alignment = wrap;
    // Examples are text: the Instructions sheet must show them exactly, never reformatted.
    row.getCell(4).numFmt = '@';
  }
  sheet.addRow([]);

  const sections: [string, string[]][] = [
    [
      'Dates (StudyDateFrom, StudyDateTo)',
      [
        'Best: type the date in a date cell (the template formats these columns as dates shown as YYYY-MM-DD).',
        'Also accepted as text: YYYY-MM-DD (2024-03-15), YYYY/MM/DD, YYYYMMDD (20240315).',
        'Refused: 03/04/2024, 3.4.24 and similar, because day and month cannot be told apart. Write YYYY-MM-DD instead.',
        'Either date may be left empty: only From = from that day on; only To = up to that day.',
      ],
    ],
    [
      'Formats and limits',
      [
        `Upload the workbook as .xlsx or as .csv (comma or semicolon separated, UTF-8). Old .xls files cannot be read: save as .xlsx.`,
        `At most ${formatCount(limits.maxRows)} rows and ${formatBytes(limits.maxFileBytes)} per file.`,
        'Only the first sheet with a PatientID column is read; this Instructions sheet is always ignored.',
        'Formulas are not recalculated: the value Excel last saved is used. Merged cells: only the top-left cell keeps its value.',
      ],
    ],
    [
      'After upload',
      [
        'Every row is checked before anything is queried. Rows with problems are listed with their row number and the reason; the other rows go on.',
        'Rows with exactly the same criteria are merged and queried once.',
        'PatientIDs stored as numbers (not text) are accepted with a warning: check them, leading zeros may have been lost.',
      ],
    ],
  ];
  for (const [heading, lines] of sections) {
    sheet.addRow([heading]).font = { bold: true };
    for (const line of lines) paragraph(sheet, `• ${line}`);
    sheet.addRow([]);
  }
}

function paragraph(sheet: ExcelJS.Worksheet, text: string): void {
  const row = sheet.addRow([text]);
  sheet.mergeCells(row.number, 1, row.number, 5);
  row.alignment = { wrapText: true, vertical: 'top' };
  // Excel does not grow merged rows to fit wrapped text; ~110 characters fit on a line here.
  row.height = 15 * Math.max(1, Math.ceil(text.length / 110));
}
