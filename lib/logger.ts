/**
 * The one logger. Structured JSON lines on stderr.
 *
 * PHI rule: callers pass ids, counts, AE titles and error codes, never patient names, MRNs,
 * birth dates, accession numbers or source UIDs. As a second line of defence, fields whose
 * names suggest identity (patientName, patientId, mrn, birthDate, accession...) are replaced by
 * "[redacted]" before the line is written.
 *
 * Errors are logged by class and code only (lib/errors.ts errorSummary), never by message: a
 * database or parser message quotes the value it choked on, which may be a PatientID or a UID.
 * Pass the Error itself (`{ err: e }`), not `e.message`.
 */
import { errorSummary } from './errors';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const PHI_KEYS = /patient.?name|patient.?id|^mrn$|birth|accession|^name$|studyinstanceuid|sourcestudyuid|researchname/i;

function threshold(): number {
  const lvl = (process.env.LOG_LEVEL ?? 'info') as Level;
  return ORDER[lvl] ?? ORDER.info;
}

export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (PHI_KEYS.test(k)) out[k] = '[redacted]';
    else if (v instanceof Error) out[k] = errorSummary(v);
    else out[k] = v;
  }
  return out;
}

function write(level: Level, scope: string, msg: string, fields?: Record<string, unknown>) {
  if (ORDER[level] < threshold()) return;
  // An Error anywhere in the fields (nested too) is written by class and code only; Prisma and
  // driver errors carry enumerable copies of their message (meta, cause.originalMessage).
  const line = JSON.stringify({ t: new Date().toISOString(), level, scope, msg, ...(fields ? redact(fields) : {}) }, (_k, v: unknown) =>
    v instanceof Error ? errorSummary(v) : v,
  );
  process.stderr.write(line + '\n');
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function logger(scope: string): Logger {
  return {
    debug: (m, f) => write('debug', scope, m, f),
    info: (m, f) => write('info', scope, m, f),
    warn: (m, f) => write('warn', scope, m, f),
    error: (m, f) => write('error', scope, m, f),
  };
}
