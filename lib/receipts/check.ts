/**
 * `tributary receipt verify`: checks a receipt without the Tributary that issued it (no database,
 * no configuration): the signature (format.ts), optionally the pinned key, and the data the
 * receipt describes, in a folder or at a DICOMweb destination.
 *
 * Folder: every regular file below the folder is read (any name); files whose Part-10 header
 * names a SOP Instance UID are hashed (SHA-256 of the whole file) and matched with the receipt's
 * instances by that UID. DICOMweb: each instance the receipt says was sent is fetched by WADO-RS
 * with transfer-syntax=* (as stored) and its part hashed; a destination that re-encodes what it
 * stores returns other bytes, so a mismatch there is reported as "differs (the destination may
 * have re-encoded it)".
 */
import crypto from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { readInstanceIds } from '../dicom/part10';
import { readMultipart } from '../dicomweb/multipart';
import { verifyReceiptDocument, type VerifyResult } from './format';

export interface ReceiptInstance {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sha256: string | null;
  state?: string;
}

export interface DataCheck {
  /** Sent per the receipt and found with the same SHA-256. */
  matched: number;
  /** Sent per the receipt, not found (folder) or not retrievable (DICOMweb: status or error). */
  missing: { sopInstanceUid: string; detail?: string }[];
  /** Found with other bytes. */
  changed: { sopInstanceUid: string; detail: string }[];
  /** Folder only: DICOM files the receipt does not list as sent (relative paths). */
  extra: { file: string; sopInstanceUid: string; detail: string }[];
  /** Folder only: files that are not DICOM Part-10 (ignored). */
  notDicom: number;
}

/** The instances the receipt says were delivered: those with a SHA-256. */
export function receiptInstances(doc: unknown): ReceiptInstance[] {
  const body = (doc as { body?: { instances?: unknown } }).body;
  if (!Array.isArray(body?.instances)) return [];
  return (body.instances as Record<string, unknown>[])
    .filter((i) => i && typeof i.sopInstanceUid === 'string')
    .map((i) => ({
      studyInstanceUid: String(i.studyInstanceUid ?? ''),
      seriesInstanceUid: String(i.seriesInstanceUid ?? ''),
      sopInstanceUid: i.sopInstanceUid as string,
      sha256: typeof i.sha256 === 'string' ? i.sha256.toLowerCase() : null,
      state: typeof i.state === 'string' ? i.state : undefined,
    }));
}

async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function* walk(dir: string): AsyncGenerator<string> {
  for (const ent of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) yield* walk(p);
    else if (ent.isFile()) yield p;
  }
}

export async function checkFolder(doc: unknown, dir: string): Promise<DataCheck> {
  const expected = new Map(receiptInstances(doc).map((i) => [i.sopInstanceUid, i]));
  const found = new Map<string, string[]>();
  const out: DataCheck = { matched: 0, missing: [], changed: [], extra: [], notDicom: 0 };
  for await (const file of walk(dir)) {
    let uid: string | undefined;
    try {
      uid = readInstanceIds(file).sopInstanceUid;
    } catch {
      uid = undefined;
    }
    if (!uid) {
      out.notDicom++;
      continue;
    }
    const rel = path.relative(dir, file);
    const exp = expected.get(uid);
    if (!exp || !exp.sha256) {
      out.extra.push({ file: rel, sopInstanceUid: uid, detail: exp ? `the receipt says it was not sent (${exp.state ?? 'no hash'})` : 'not in the receipt' });
      continue;
    }
    const list = found.get(uid) ?? [];
    list.push(`${rel}\u0000${await sha256File(file)}`);
    found.set(uid, list);
  }
  for (const [uid, exp] of expected) {
    if (!exp.sha256) continue;
    const files = found.get(uid);
    if (!files) {
      out.missing.push({ sopInstanceUid: uid });
      continue;
    }
    const good = files.filter((f) => f.split('\u0000')[1] === exp.sha256);
    if (good.length) out.matched++;
    else out.changed.push({ sopInstanceUid: uid, detail: `${files.map((f) => f.split('\u0000')[0]).join(', ')}: SHA-256 ${files.map((f) => f.split('\u0000')[1]).join(', ')}, receipt ${exp.sha256}` });
    // A second copy with other bytes next to a good one is reported too.
    for (const f of files) if (good.length && !good.includes(f)) out.extra.push({ file: f.split('\u0000')[0], sopInstanceUid: uid, detail: 'another copy with other bytes' });
  }
  return out;
}

export interface DicomwebAuth {
  user?: string;
  password?: string;
  token?: string;
}

/** SHA-256 of the single application/dicom part of a WADO-RS answer. */
async function fetchInstanceHash(url: string, headers: Record<string, string>): Promise<{ sha256?: string; error?: string }> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { ...headers, accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' }, signal: AbortSignal.timeout(120_000) });
  } catch (e) {
    return { error: e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : 'request failed' };
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    return { error: `HTTP ${res.status}` };
  }
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(res.headers.get('content-type') ?? '');
  const boundary = m ? (m[1] ?? m[2]) : null;
  if (!boundary || !res.body) return { error: `not a multipart answer (${res.headers.get('content-type') ?? 'no content type'})` };
  const hashes: string[] = [];
  try {
    await readMultipart(res.body as unknown as AsyncIterable<Uint8Array>, boundary, '', {
      malformed: (msg) => new Error(msg),
      openPart: () => {
        const h = crypto.createHash('sha256');
        return {
          write: (c) => void h.update(c),
          end: async () => void hashes.push(h.digest('hex')),
          abandon: () => undefined,
        };
      },
    });
  } catch (e) {
    return { error: e instanceof Error ? e.message : 'unreadable answer' };
  }
  if (hashes.length !== 1) return { error: `${hashes.length} parts in the answer, expected 1` };
  return { sha256: hashes[0] };
}

export async function checkDicomweb(doc: unknown, baseUrl: string, auth: DicomwebAuth = {}, concurrency = 4): Promise<DataCheck> {
  const base = baseUrl.replace(/\/+$/, '');
  const headers: Record<string, string> = {};
  if (auth.token) headers.authorization = `Bearer ${auth.token}`;
  else if (auth.user !== undefined) headers.authorization = `Basic ${Buffer.from(`${auth.user}:${auth.password ?? ''}`).toString('base64')}`;
  const out: DataCheck = { matched: 0, missing: [], changed: [], extra: [], notDicom: 0 };
  const todo = receiptInstances(doc).filter((i) => i.sha256);
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const i = todo[next++];
      const url = `${base}/studies/${encodeURIComponent(i.studyInstanceUid)}/series/${encodeURIComponent(i.seriesInstanceUid)}/instances/${encodeURIComponent(i.sopInstanceUid)}`;
      const r = await fetchInstanceHash(url, headers);
      if (r.error) out.missing.push({ sopInstanceUid: i.sopInstanceUid, detail: r.error });
      else if (r.sha256 === i.sha256) out.matched++;
      else out.changed.push({ sopInstanceUid: i.sopInstanceUid, detail: `differs (the destination may have re-encoded it): SHA-256 ${r.sha256}, receipt ${i.sha256}` });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, todo.length)) }, worker));
  out.missing.sort((a, b) => a.sopInstanceUid.localeCompare(b.sopInstanceUid));
  out.changed.sort((a, b) => a.sopInstanceUid.localeCompare(b.sopInstanceUid));
  return out;
}

export const dataCheckOk = (c: DataCheck) => c.missing.length === 0 && c.changed.length === 0 && c.extra.length === 0;

/** Human-readable lines for the CLI (no PHI: receipts hold research UIDs and hashes only). */
export function describe(sig: VerifyResult, data: DataCheck | null, where: string | null): string[] {
  const lines: string[] = [];
  if (!sig.ok) lines.push(`INVALID: ${sig.reason}${sig.keyId ? ` (key id ${sig.keyId})` : ''}`);
  else if (sig.trusted) lines.push(`signature valid, signed by the pinned key ${sig.keyId}`);
  else
    lines.push(
      `signature valid for the key in the receipt, key id ${sig.keyId}`,
      'NOT PINNED: anyone can sign a receipt with their own key. Compare the key id with the installation’s (admin Queues page, GET /api/v1/receipts/public-key) or pass --key <public key PEM> for a statement of who signed it.',
    );
  if (data && where) {
    lines.push(`${where}: ${data.matched} matched, ${data.missing.length} missing, ${data.changed.length} changed, ${data.extra.length} extra${data.notDicom ? `, ${data.notDicom} non-DICOM file(s) ignored` : ''}`);
    for (const m of data.missing) lines.push(`missing ${m.sopInstanceUid}${m.detail ? `: ${m.detail}` : ''}`);
    for (const c of data.changed) lines.push(`changed ${c.sopInstanceUid}: ${c.detail}`);
    for (const x of data.extra) lines.push(`extra ${x.file} (${x.sopInstanceUid}): ${x.detail}`);
  }
  return lines;
}

export { verifyReceiptDocument };
