/**
 * Database cohort sources: the admin's form and API body (one schema), and the coordinator's
 * parameter values. Imports only zod and ./sql, so the browser uses the same checks.
 */
import { z } from 'zod';
import { parameterMismatch, statementProblems } from './sql';

export const COHORT_DRIVERS = ['POSTGRES', 'MYSQL'] as const;
export const DEFAULT_PORT = { POSTGRES: 5432, MYSQL: 3306 } as const;
export const PARAMETER_TYPES = ['date', 'text', 'number'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

/** Query-row fields a result column can map to, with the name the admin sees. */
export const MAPPED_FIELDS = {
  patientId: 'PatientID',
  accessionNumber: 'AccessionNumber',
  studyInstanceUid: 'StudyInstanceUID',
  modality: 'Modality',
  studyDate: 'StudyDate',
  researchId: 'ResearchID',
  researchName: 'ResearchName',
} as const;
export type MappedField = keyof typeof MAPPED_FIELDS;

const columnName = z.string().trim().max(128, 'At most 128 characters');
const optionalColumn = columnName.nullish().transform((v) => (v ? v : undefined));

export const cohortMappingSchema = z.object({
  patientId: columnName.min(1, 'Map the PatientID column (required)'),
  accessionNumber: optionalColumn,
  studyInstanceUid: optionalColumn,
  modality: optionalColumn,
  studyDate: optionalColumn,
  researchId: optionalColumn,
  researchName: optionalColumn,
});
export type CohortMapping = z.infer<typeof cohortMappingSchema>;

export const cohortParameterSchema = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,39}$/, 'Letters, digits and _ (as written after ":" in the statement)'),
  label: z.string().trim().min(1, 'Give the parameter a label').max(80),
  type: z.enum(PARAMETER_TYPES),
  required: z.boolean().default(true),
});
export type CohortParameter = z.infer<typeof cohortParameterSchema>;

export const cohortSourceInputSchema = z
  .object({
    name: z.string().trim().min(1, 'Name is required').max(80),
    description: z.string().trim().max(500).nullish().transform((v) => (v ? v : null)),
    driver: z.enum(COHORT_DRIVERS),
    host: z.string().trim().min(1, 'Host is required').max(253).regex(/^[A-Za-z0-9.:_-]+$/, 'A host name or IP address'),
    port: z.coerce.number().int().min(1).max(65535),
    database: z.string().trim().min(1, 'Database is required').max(128),
    user: z.string().trim().min(1, 'User is required').max(128),
    /** Write-only: absent keeps the stored password, "" or null clears it, text replaces it. */
    password: z.string().max(1024).nullish(),
    tls: z.boolean().default(false),
    sql: z.string().trim().min(1, 'Write the SELECT statement').max(20_000),
    parameters: z.array(cohortParameterSchema).max(20).default([]),
    mapping: cohortMappingSchema,
    rowCap: z.coerce.number().int().min(1).max(50_000).default(5000),
    timeoutSeconds: z.coerce.number().int().min(1).max(600).default(30),
    connectorId: z.string().min(1, 'Choose the connector that retrieves the studies'),
  })
  .superRefine((v, ctx) => {
    for (const message of statementProblems(v.sql, v.driver)) ctx.addIssue({ code: 'custom', path: ['sql'], message });
    const names = v.parameters.map((p) => p.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) ctx.addIssue({ code: 'custom', path: ['parameters'], message: `The parameter ${dup} is declared twice` });
    const { undeclared, unused } = parameterMismatch(v.sql, v.driver, names);
    if (undeclared.length) ctx.addIssue({ code: 'custom', path: ['parameters'], message: `Declare the parameters the statement uses: ${undeclared.map((n) => ':' + n).join(', ')}` });
    if (unused.length) ctx.addIssue({ code: 'custom', path: ['parameters'], message: `The statement does not use ${unused.map((n) => ':' + n).join(', ')}` });
  });
export type CohortSourceInput = z.infer<typeof cohortSourceInputSchema>;

/** What a coordinator sends to run a source. Values are checked against the source's declared types (checkParameterValues). */
export const cohortRunInputSchema = z.object({
  poolId: z.string().min(1),
  parameters: z.record(z.string().max(40), z.union([z.string().max(200), z.number(), z.null()])).default({}),
  /** Only count and validate the rows; create no query. */
  dryRun: z.boolean().default(false),
});
export type CohortRunInput = z.infer<typeof cohortRunInputSchema>;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Checks a coordinator's values against the declared parameters. Values are only ever bound as
 * parameters (never written into the statement), so text is not escaped here; it is only kept
 * short and printable. Messages name the parameter, never the value.
 */
export function checkParameterValues(
  declared: CohortParameter[],
  values: Record<string, string | number | null>,
): { ok: true; values: Record<string, string | number | null> } | { ok: false; fields: Record<string, string[]> } {
  const fields: Record<string, string[]> = {};
  const out: Record<string, string | number | null> = {};
  const fail = (name: string, message: string) => (fields[name] ??= []).push(message);
  for (const name of Object.keys(values)) if (!declared.some((p) => p.name === name)) fail(name, `${name} is not a parameter of this source`);
  for (const p of declared) {
    const raw = values[p.name];
    const text = raw === null || raw === undefined ? '' : String(raw).trim();
    if (text === '') {
      if (p.required) fail(p.name, `${p.label} is required`);
      out[p.name] = null;
      continue;
    }
    if (p.type === 'date') {
      const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(text);
      const d = m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])) : null;
      if (!m || !d || d.getUTCMonth() !== +m[2] - 1 || d.getUTCDate() !== +m[3]) fail(p.name, `${p.label} must be a date as YYYY-MM-DD`);
      else out[p.name] = `${m[1]}-${m[2]}-${m[3]}`;
    } else if (p.type === 'number') {
      const n = typeof raw === 'number' ? raw : /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
      if (!Number.isFinite(n)) fail(p.name, `${p.label} must be a number`);
      else out[p.name] = n;
    } else {
      if (CONTROL.test(text)) fail(p.name, `${p.label} must not contain line breaks or control characters`);
      else out[p.name] = text;
    }
  }
  return Object.keys(fields).length ? { ok: false, fields } : { ok: true, values: out };
}
