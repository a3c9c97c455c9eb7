/**
 * Spreadsheet queries: the downloadable template, the upload parser and the row schema.
 *
 * Server-only in practice (it pulls in exceljs and yauzl). Browser code that needs the row schema
 * for the single-MRN form imports `@/lib/excel/schema` directly.
 */
export {
  COLUMN_FIELD,
  DICOM_MODALITIES,
  FIELD_COLUMN,
  MAX_LENGTH,
  QUERY_COLUMNS,
  parseStudyDate,
  queryRowSchema,
  validateQueryRow,
  type QueryColumn,
  type QueryField,
  type QueryRow,
  type QueryRowInput,
  type QueryRowValidation,
} from './schema';
export { HEADER_ALIASES, matchHeader, type HeaderColumn } from './columns';
export type { GridCell } from './grid';
export { DEFAULT_SPREADSHEET_LIMITS, resolveLimits, type SpreadsheetLimits } from './limits';
export {
  parseQuerySpreadsheet,
  parseQueryTable,
  type InvalidRow,
  type ParsedSpreadsheet,
  type SpreadsheetUpload,
  type ValidRow,
} from './parse';
export { buildTemplate, TEMPLATE_CONTENT_TYPE, TEMPLATE_FILE_NAME, type TemplateOptions } from './template';
