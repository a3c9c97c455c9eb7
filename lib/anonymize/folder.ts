/**
 * De-identify a folder of DICOM files with one rule set: `tributary anonymize --rules <file> <in> <out>`.
 *
 * Output files are named by research UIDs only, `<out>/<study>/<series>/<sop>.dcm`, because input
 * paths often carry names or MRNs. Quarantined instances are written under `quarantineDir` when
 * given, otherwise not at all. DICOMDIR files and dot-files are skipped; other unreadable files are
 * reported in `failed` (with an error that names no values) and the rest go on.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors';
import { requireSafeUid } from '../dicom/uids';
import type { DeidIdentity } from './engine';
import { TS_DEFLATED, TS_EXPLICIT_BE, TS_IMPLICIT_LE, TS_JPIP_DEFLATE, parsePart10, readTag, valueString } from './parse';
import { createDeidPool } from './pool';
import type { RuleSet } from './rules';

export interface AnonymizeFolderOptions {
  inDir: string;
  outDir: string;
  rules: RuleSet;
  uidSecret: string;
  identityFor(patientId: string): Promise<DeidIdentity> | DeidIdentity;
  /** Worker threads; defaults to the machine's available parallelism. 0 runs inline. */
  concurrency?: number;
  ruleVersion?: number;
  quarantineDir?: string;
  onProgress?(done: number, total: number): void;
  /**
   * Called once per de-identified instance (written or quarantined), e.g. to record the
   * source -> research study mapping of a pool. Source values: keep them out of logs.
   */
  onInstance?(r: { patientId: string; sourceStudyUid: string; targetStudyUid: string; outcome: 'written' | 'quarantined' }): Promise<void> | void;
}

export interface AnonymizeFolderResult {
  processed: number;
  written: number;
  quarantined: number;
  /** Quarantine reasons (constant texts, no values) with their counts. */
  quarantineReasons: Record<string, number>;
  failed: Array<{ file: string; error: string }>;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && e.name.toUpperCase() !== 'DICOMDIR') out.push(p);
    }
  };
  await walk(dir);
  return out;
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/**
 * Source PatientID of a Part-10 file, needed before de-identification to pick the identity.
 * Scans element headers in the first 64 KiB (the patient module precedes bulk data); falls back to
 * a full parse for deflated files, undefined-length sequences before group 0010, or a long head.
 */
export async function readSourcePatientId(file: string): Promise<string> {
  const fh = await open(file, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(Math.min((await fh.stat()).size, 64 * 1024));
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  const quick = patientIdFromHead(head);
  if (quick !== undefined) return quick;
  const parsed = parsePart10(await readFile(file));
  const el = parsed.els.find((e) => e.tag === 0x00100020);
  return el ? valueString(parsed.buf, el).trim() : '';
}

/** PatientID from a file head, '' when absent, undefined when the head alone cannot tell. */
function patientIdFromHead(buf: Buffer): string | undefined {
  if (buf.length < 132 || buf.toString('latin1', 128, 132) !== 'DICM') return undefined;
  let pos = 132;
  let ts = '';
  while (pos + 8 <= buf.length && buf.readUInt16LE(pos) === 0x0002) {
    const vr = buf.toString('latin1', pos + 4, pos + 6);
    const long = LONG_VRS.has(vr);
    if (pos + 12 > buf.length) return undefined;
    const len = long ? buf.readUInt32LE(pos + 8) : buf.readUInt16LE(pos + 6);
    const vstart = pos + (long ? 12 : 8);
    if (readTag(buf, pos, true) === 0x00020010) ts = buf.toString('latin1', vstart, vstart + len).replace(/[\0 ]+$/, '');
    pos = vstart + len;
  }
  if (ts === TS_DEFLATED || ts === TS_JPIP_DEFLATE) return undefined;
  const little = ts !== TS_EXPLICIT_BE;
  const explicit = ts !== TS_IMPLICIT_LE;
  while (pos + 12 <= buf.length) {
    const tag = readTag(buf, pos, little);
    let len: number;
    let vstart: number;
    const vr = explicit ? buf.toString('latin1', pos + 4, pos + 6) : '';
    if (explicit && !LONG_VRS.has(vr)) {
      len = little ? buf.readUInt16LE(pos + 6) : buf.readUInt16BE(pos + 6);
      vstart = pos + 8;
    } else {
      len = little ? buf.readUInt32LE(pos + (explicit ? 8 : 4)) : buf.readUInt32BE(pos + (explicit ? 8 : 4));
      vstart = pos + (explicit ? 12 : 8);
    }
    if (tag > 0x00100020) return '';
    if (len === 0xffffffff || vstart + len > buf.length) return undefined;
    if (tag === 0x00100020) return buf.toString('latin1', vstart, vstart + len).replace(/[\0 ]+$/, '').trim();
    pos = vstart + len;
  }
  return undefined;
}

export async function anonymizeFolder(opts: AnonymizeFolderOptions): Promise<AnonymizeFolderResult> {
  const files = await listFiles(opts.inDir);
  const result: AnonymizeFolderResult = { processed: 0, written: 0, quarantined: 0, quarantineReasons: {}, failed: [] };
  const pool = createDeidPool(opts.concurrency);
  const identities = new Map<string, Promise<DeidIdentity>>();
  const incoming = path.join(opts.outDir, `.incoming-${randomBytes(4).toString('hex')}`);
  let done = 0;
  let next = 0;
  const width = Math.max(1, pool.size) * 2;

  const one = async (file: string, n: number) => {
    const rel = path.relative(opts.inDir, file);
    try {
      const patientId = await readSourcePatientId(file);
      let identity = identities.get(patientId);
      if (!identity) {
        identity = Promise.resolve(opts.identityFor(patientId));
        identities.set(patientId, identity);
      }
      const tmpOut = path.join(incoming, `${n}.dcm`);
      const tmpQuarantine = opts.quarantineDir ? path.join(incoming, `${n}.q.dcm`) : undefined;
      const res = await pool.run({
        inPath: file,
        outPath: tmpOut,
        quarantinePath: tmpQuarantine,
        rules: opts.rules,
        uidSecret: opts.uidSecret,
        identity: await identity,
        ruleVersion: opts.ruleVersion ?? 1,
      });
      // UIDs kept by the rules come from the input: lib/dicom/uids.ts decides what may name a path.
      const name = path.join(
        res.targetUids.study ? requireSafeUid(res.targetUids.study, 'Study Instance UID') : 'unknown-study',
        res.targetUids.series ? requireSafeUid(res.targetUids.series, 'Series Instance UID') : 'unknown-series',
        `${requireSafeUid(res.targetUids.sop, 'SOP Instance UID')}.dcm`,
      );
      // Recorded first (e.g. the pool's identity map): a file whose record fails is reported as
      // failed, not counted as written.
      await opts.onInstance?.({
        patientId,
        sourceStudyUid: res.sourceUids.study,
        targetStudyUid: res.targetUids.study,
        outcome: res.written === 'out' ? 'written' : 'quarantined',
      });
      result.processed++;
      if (res.written === 'out') {
        await moveInto(tmpOut, path.join(opts.outDir, name));
        result.written++;
      } else {
        result.quarantined++;
        const reason = res.quarantine?.reason ?? 'quarantined';
        result.quarantineReasons[reason] = (result.quarantineReasons[reason] ?? 0) + 1;
        if (res.written === 'quarantine' && tmpQuarantine && opts.quarantineDir) {
          await moveInto(tmpQuarantine, path.join(opts.quarantineDir, name));
        }
      }
    } catch (e) {
      result.failed.push({ file: rel, error: e instanceof AppError ? e.message : `De-identification failed (${e instanceof Error ? e.name : 'error'})` });
    } finally {
      done++;
      opts.onProgress?.(done, files.length);
    }
  };

  try {
    await Promise.all(
      Array.from({ length: Math.min(width, files.length) }, async () => {
        while (next < files.length) {
          const n = next++;
          await one(files[n], n);
        }
      }),
    );
  } finally {
    await pool.close();
    await rm(incoming, { recursive: true, force: true });
  }
  return result;
}

async function moveInto(from: string, to: string): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true });
  await rename(from, to);
}
