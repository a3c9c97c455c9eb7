/**
 * multipart/form-data (RFC 7578) read as it streams in, with the limit on bytes received
 * (lib/api/read-body.ts). Text fields become strings, file parts File objects held in memory
 * (uploads here are small: spreadsheets, lookup tables, one preview sample).
 *
 * Access first: where the pool is named by the path, lib/api/handler.ts decides access before this
 * is called. Where the pool is a form field (POST /queries/spreadsheet, field poolId), the caller
 * passes `beforeFiles`: the text fields that precede the first file part are read under a small
 * cap (FIELDS_BEFORE_FILE_MAX_BYTES), `beforeFiles` decides access from them, and only then is the
 * first file byte read, under the full limit. So an unauthorized upload is refused having read
 * its leading fields only; clients must send such fields before the file (browsers and curl keep
 * the order the fields were added in).
 */
import { AppError } from '../errors';
import { MultipartFraming, type FramingProblem } from '../http/multipart-framing';
import { LimitedBody, refuseDeclaredSize, sizeLabel } from './read-body';

/** What may be read before access is decided: the leading text fields and part headers. */
export const FIELDS_BEFORE_FILE_MAX_BYTES = 64 * 1024;
/** Room for multipart framing and text fields on top of the file-size limit. */
const FRAMING_BYTES = 64 * 1024;
const MAX_PART_HEADERS = 16 * 1024;

export interface ReadForm {
  fields: Record<string, string>;
  files: Record<string, File>;
}

export interface ReadFormOptions {
  /** Largest file accepted; the body may carry FRAMING_BYTES more. */
  maxFileBytes: number;
  /** Decides access from the leading text fields, before any file byte is read (also called when there is no file). */
  beforeFiles?: (fields: Record<string, string>) => Promise<void>;
}

function boundaryOf(contentType: string): string | null {
  const m = /;\s*boundary=(?:"([^"]{1,200})"|([^;\s]{1,200}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : null;
}

function dispositionParam(disposition: string, name: 'name' | 'filename'): string | null {
  const m = new RegExp(`;\\s*${name}=(?:"([^"]*)"|([^;\\s]*))`, 'i').exec(disposition);
  return m ? (m[1] ?? m[2]) : null;
}

const badForm = (why: string) => new AppError('BAD_REQUEST', `The upload could not be read as multipart/form-data: ${why}`);
const PROBLEMS: Record<FramingProblem, string> = {
  'no-boundary': 'no boundary found in the body',
  delimiter: 'malformed delimiter line',
  'headers-too-long': 'part headers too long',
};

export async function readForm(req: Request, opts: ReadFormOptions): Promise<ReadForm> {
  const type = req.headers.get('content-type') ?? '';
  if (!type.toLowerCase().startsWith('multipart/form-data')) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the file as multipart/form-data');
  const boundary = boundaryOf(type);
  if (!boundary) throw badForm('no boundary');
  const fullLimit = opts.maxFileBytes + FRAMING_BYTES;
  const tooLarge = () => new AppError('PAYLOAD_TOO_LARGE', `Uploads are limited to ${sizeLabel(opts.maxFileBytes)}`);
  const fieldsTooLarge = () => new AppError('PAYLOAD_TOO_LARGE', `The form fields before the file are limited to ${sizeLabel(FIELDS_BEFORE_FILE_MAX_BYTES)}`);
  refuseDeclaredSize(req, fullLimit, tooLarge);

  let pendingAccess = opts.beforeFiles ?? null;
  const body = pendingAccess ? new LimitedBody(req.body, FIELDS_BEFORE_FILE_MAX_BYTES, fieldsTooLarge) : new LimitedBody(req.body, fullLimit, tooLarge);
  const decideAccess = async (fields: Record<string, string>) => {
    const decide = pendingAccess;
    pendingAccess = null;
    if (decide) await decide(fields);
    body.setLimit(fullLimit, tooLarge);
  };

  const framing = new MultipartFraming(boundary, (problem) => badForm(PROBLEMS[problem]), { maxPreambleBytes: MAX_PART_HEADERS, maxHeaderBytes: MAX_PART_HEADERS });
  const fields: Record<string, string> = {};
  const files: Record<string, File> = {};
  let part: { name: string; filename: string | null; type: string; chunks: Buffer[]; size: number } | null = null;

  const finishPart = () => {
    const p = part;
    part = null;
    if (!p || !p.name) return;
    if (p.filename === null) fields[p.name] = Buffer.concat(p.chunks).toString('utf8');
    else {
      if (p.size > opts.maxFileBytes) throw tooLarge();
      files[p.name] = new File(p.chunks as unknown as BlobPart[], p.filename, { type: p.type });
    }
  };

  try {
    for (let ended = false; !ended && !framing.done; ) {
      const chunk = await body.read();
      if (!chunk) ended = true;
      for (const ev of framing.push(chunk ?? null)) {
        if (ev.kind === 'part') {
          const disposition = ev.headers['content-disposition'] ?? '';
          const filename = dispositionParam(disposition, 'filename');
          // The first file part: access is decided before any of its bytes are read.
          if (filename !== null && pendingAccess) await decideAccess({ ...fields });
          part = { name: dispositionParam(disposition, 'name') ?? '', filename, type: ev.headers['content-type'] ?? 'application/octet-stream', chunks: [], size: 0 };
        } else if (ev.kind === 'data') {
          part!.chunks.push(Buffer.from(ev.chunk));
          part!.size += ev.chunk.length;
        } else {
          finishPart();
        }
      }
    }
    if (!framing.done) throw badForm('the body ends before its closing boundary');
    // A form without any file part: access is decided from all its fields.
    if (pendingAccess) await decideAccess({ ...fields });
    return { fields, files };
  } finally {
    // Anything after the closing boundary (an epilogue), or the rest of a refused body, is never read.
    await body.cancel();
  }
}
