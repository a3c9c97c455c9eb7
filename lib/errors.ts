/**
 * One error type for the domain. Route handlers map `code` to an HTTP status through
 * HTTP_STATUS; user-facing messages never contain PHI.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'VALIDATION'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE'
  | 'DICOM_NETWORK'
  | 'INTERNAL';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  VALIDATION: 422,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  DICOM_NETWORK: 502,
  INTERNAL: 500,
};

export interface FieldErrors {
  [field: string]: string[];
}

export class AppError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly fields?: FieldErrors,
  ) {
    super(message);
    this.name = 'AppError';
  }
  get status(): number {
    return HTTP_STATUS[this.code];
  }
}

export const notFound = (what = 'Not found') => new AppError('NOT_FOUND', what);
export const forbidden = (what = 'Forbidden') => new AppError('FORBIDDEN', what);

/**
 * PHI rule for errors: outside the request that raised it, an error is known by its class and
 * code only. Messages of library and database errors quote the values they choke on (PostgreSQL:
 * `invalid input syntax for type integer: "<PatientID>"`; Prisma: the arguments of the call;
 * DICOM parsers: element values), so they never go into a log line, a job's failure reason or a
 * stored status. AppError messages are ours and carry no PHI by convention (errors.ts header);
 * they are the only messages repeated.
 */
const SAFE_TOKEN = /^[A-Za-z0-9_$.:-]{1,64}$/;

function codeOf(e: Error): string | undefined {
  if (e instanceof AppError) return e.code;
  const x = e as { code?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } }; cause?: { originalCode?: unknown } };
  // PostgreSQL's SQLSTATE (22P02, 23505...) under Prisma's code (P2010), when there is one.
  const sqlState = x.meta?.driverAdapterError?.cause?.originalCode ?? x.cause?.originalCode;
  const parts = [x.code, sqlState].filter((v): v is string | number => typeof v === 'string' || typeof v === 'number').map(String);
  const code = parts.filter((p) => SAFE_TOKEN.test(p)).join('/');
  return code || undefined;
}

export interface ErrorSummary {
  class: string;
  code?: string;
  /** Where it was thrown: the first stack frames (code locations, never the message). */
  at?: string[];
}

/** What may be said about any error in a log line: its class, its code and where it was thrown. */
export function errorSummary(e: unknown, frames = 3): ErrorSummary {
  if (!(e instanceof Error)) return { class: e === null ? 'null' : typeof e };
  const out: ErrorSummary = { class: SAFE_TOKEN.test(e.name) ? e.name : 'Error' };
  const code = codeOf(e);
  if (code) out.code = code;
  const at = (e.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .slice(0, frames)
    .map((l) => l.trim());
  if (at.length && frames > 0) out.at = at;
  return out;
}

/**
 * A message fit for a stored status (Retrieval.lastError, a query row's error) or a job's failure
 * reason: an AppError's own message, else the fallback with the error's class and code.
 */
export function publicMessage(e: unknown, fallback: string): string {
  if (e instanceof AppError) return e.message;
  const s = errorSummary(e, 0);
  return `${fallback} (${s.class}${s.code ? ` ${s.code}` : ''})`;
}
