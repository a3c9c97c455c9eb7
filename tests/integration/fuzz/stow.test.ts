/**
 * Fuzz: STOW-RS multipart bodies. The reader (lib/dicomweb/multipart.ts receiveMultipart) gets
 * thousands of mutated bodies (broken boundaries, missing CRLFs, truncations, length-ish bytes
 * set to extremes) in random chunkings; the STOW handler gets a few hundred more plus huge parts,
 * thousands of tiny parts and parts with the wrong Content-Type. Every case ends in parts or an
 * AppError with a 4xx status (reader), in a 2xx/4xx answer (handler; never 5xx); afterwards no
 * descriptor is left open, no temporary file or directory is left, and every instance row of the
 * pool has its complete file. Seeded (tests/helpers/fuzz.ts).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.STOW_MAX_BYTES = String(4 * 1024 * 1024);
});

import { createApiToken } from '@/lib/auth/tokens';
import { db, type Pool } from '@/lib/db';
import { DicomwebError } from '@/lib/dicomweb/errors';
import { receiveMultipart } from '@/lib/dicomweb/multipart';
import { AppError, HTTP_STATUS } from '@/lib/errors';
import { absolute, storageRoot } from '@/lib/storage';
import { generateCorpus } from '@/lib/synthetic';
import { FUZZ_SEED, Mutator, fuzzCases, rssMiB, withinMs } from '../../helpers/fuzz';
import { makePool, makeUser } from '../../helpers/fixtures';
import { bodyOf, dw } from '../dicomweb/helpers';

const BOUNDARY = 'fuzz-b0undary';
const corpus = generateCorpus({ seed: 91, patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 3, rows: 8, columns: 8 });

function multipartBytes(parts: { body: Buffer; type?: string }[], boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${p.type ?? 'application/dicom'}\r\n\r\n`), p.body, Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** The bytes as a stream of randomly sized chunks (boundaries fall across reads). */
function chunked(bytes: Buffer, m: Mutator): ReadableStream<Uint8Array> {
  const sizes: number[] = [];
  for (let n = 0; n < bytes.length; ) {
    const s = 1 + m.int(m.rand() < 0.3 ? 16 : 70_000);
    sizes.push(s);
    n += s;
  }
  let pos = 0;
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(ctrl) {
      if (pos >= bytes.length) return ctrl.close();
      const s = sizes[i++];
      ctrl.enqueue(new Uint8Array(bytes.subarray(pos, pos + s)));
      pos += s;
    },
  });
}

/** Descriptors of this process open on files under `dir` (sockets and pipes of the DB pool are not counted). */
function openFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** Offsets where the framing lives: boundary lines and header/body separators. */
function framingHotspots(bytes: Buffer): number[] {
  const out: number[] = [];
  for (const needle of [Buffer.from(`--${BOUNDARY}`), Buffer.from('\r\n\r\n'), Buffer.from('Content-Type')]) {
    for (let i = bytes.indexOf(needle); i >= 0; i = bytes.indexOf(needle, i + 1)) out.push(Math.max(0, i - 2), i, i + needle.length - 2);
  }
  return out;
}

describe('fuzz: multipart reader', () => {
  it('reads or refuses (4xx) every mutated body; closes every file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-fuzz-multipart-'));
    const seed = multipartBytes(corpus.instances.map((i) => ({ body: i.buffer })));
    const hotspots = framingHotspots(seed);
    const m = new Mutator(FUZZ_SEED);
    const cases = fuzzCases(2000);
    const tally = { read: 0, refused: 0 };
    const rss0 = rssMiB();
    try {
      for (let c = 0; c < cases; c++) {
        const { out, strategies } = m.mutate(seed, { hotspots, maxMutations: 3 });
        const label = `seed ${FUZZ_SEED} case ${c} (${strategies.join('+')})`;
        const caseDir = path.join(dir, String(c));
        fs.mkdirSync(caseDir);
        try {
          const parts = await withinMs(10_000, label, () => receiveMultipart(chunked(out, m), BOUNDARY, caseDir, 1024 * 1024));
          tally.read++;
          // What was read is all on disk, part by part.
          for (const p of parts) expect(fs.statSync(p.path).size, label).toBe(p.size);
        } catch (e) {
          if (!(e instanceof AppError) && !(e instanceof DicomwebError)) {
            throw new Error(`${label}: not an AppError/DicomwebError: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
          }
          const status = e instanceof AppError ? HTTP_STATUS[e.code] : e.status;
          expect(status >= 400 && status < 500, `${label}: ${status}`).toBe(true);
          tally.refused++;
        }
        expect(openFilesUnder(caseDir), label).toEqual([]);
        fs.rmSync(caseDir, { recursive: true, force: true });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(tally.read).toBeGreaterThan(0);
    expect(tally.refused).toBeGreaterThan(0);
    expect(openFilesUnder(dir)).toEqual([]);
    expect(rssMiB() - rss0).toBeLessThan(300);
  });
});

describe('fuzz: STOW-RS handler', () => {
  let pool: Pool;
  let token: string;

  // The storage root is shared with the other test files of the run (crash tests leave outputs in
  // tmp/ on purpose, for the reconciliation): only what this file leaves counts.
  let tmpBefore = new Set<string>();

  beforeAll(async () => {
    const tmpDir = path.join(storageRoot(), 'tmp');
    tmpBefore = new Set(fs.existsSync(tmpDir) ? fs.readdirSync(tmpDir) : []);
    const owner = await makeUser('COORDINATOR');
    pool = await makePool({ members: [{ userId: owner.id, role: 'OWNER' }] });
    token = (await createApiToken({ userId: owner.id, name: 'fuzz' })).token;
  });

  async function post(body: ReadableStream<Uint8Array> | Buffer, contentType = `multipart/related; type="application/dicom"; boundary=${BOUNDARY}`) {
    const res = await dw('POST', `/dicomweb/${pool.id}/studies`, { token, headers: { 'content-type': contentType, accept: 'application/dicom+json' }, body: body as BodyInit });
    await bodyOf(res);
    return res.status;
  }

  async function leftovers() {
    const tmp = path.join(storageRoot(), 'tmp');
    const inTmp = (fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).filter((f) => !tmpBefore.has(f));
    const rows = await db.instance.findMany({ where: { series: { study: { poolId: pool.id } } }, select: { path: true, size: true } });
    const missing = [];
    for (const r of rows) {
      const st = await fsp.stat(absolute(r.path)).catch(() => null);
      if (!st || st.size !== r.size) missing.push(r.path);
    }
    return { inTmp, rows: rows.length, missing };
  }

  it('answers every mutated request with 2xx or 4xx (never 5xx) and leaves nothing half-stored', async () => {
    const seed = multipartBytes(corpus.instances.slice(0, 2).map((i) => ({ body: i.buffer })));
    const hotspots = framingHotspots(seed);
    const m = new Mutator(FUZZ_SEED + 1);
    const cases = fuzzCases(80);
    const statuses = new Map<number, number>();
    for (let c = 0; c < cases; c++) {
      const { out, strategies } = m.mutate(seed, { hotspots, maxMutations: 2 });
      const status = await withinMs(20_000, `case ${c}`, () => post(chunked(out, m)));
      expect(status < 500, `seed ${FUZZ_SEED + 1} case ${c} (${strategies.join('+')}): ${status}`).toBe(true);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
    expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
    const left = await leftovers();
    expect(left.inTmp).toEqual([]);
    expect(left.missing).toEqual([]);
    expect(openFilesUnder(storageRoot())).toEqual([]);
  });

  it('huge parts, thousands of tiny parts, wrong Content-Types, broken framing: clear 4xx or per-part failures', async () => {
    const good = corpus.instances[2].buffer;
    // A part larger than the whole limit: 413, streamed (not buffered).
    const rss0 = rssMiB();
    expect(await post(multipartBytes([{ body: Buffer.alloc(6 * 1024 * 1024, 0x41) }]))).toBe(413);
    // 3,000 tiny parts: each refused on its own (not DICOM), the request answered.
    const tiny = multipartBytes(Array.from({ length: 3000 }, (_, i) => ({ body: Buffer.from(`x${i}`) })));
    expect([400, 409]).toContain(await post(tiny));
    // Wrong part Content-Types next to a good part: the good part is stored, the others failed (202/409 semantics).
    const mixed = multipartBytes([{ body: good, type: 'text/plain' }, { body: good, type: 'application/dicom+json' }, { body: good }]);
    expect([200, 202]).toContain(await post(mixed));
    // Broken framing.
    const cases: [string, Buffer, string?][] = [
      ['no closing boundary', Buffer.from(`--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\nabc\r\n`)],
      ['no CRLF after the delimiter', Buffer.from(`--${BOUNDARY}Content-Type: application/dicom\r\n\r\nabc\r\n--${BOUNDARY}--`)],
      ['headers never end', Buffer.concat([Buffer.from(`--${BOUNDARY}\r\n`), Buffer.alloc(64 * 1024, 0x61)])],
      ['no boundary at all', Buffer.alloc(128 * 1024, 0x2d)],
      ['empty body', Buffer.alloc(0)],
      ['only the closing boundary', Buffer.from(`--${BOUNDARY}--\r\n`)],
      ['boundary parameter too long', multipartBytes([{ body: good }]), `multipart/related; type="application/dicom"; boundary=${'b'.repeat(300)}`],
      ['no boundary parameter', multipartBytes([{ body: good }]), 'multipart/related; type="application/dicom"'],
    ];
    for (const [what, body, ct] of cases) {
      const status = await post(body, ct);
      expect(status >= 400 && status < 500, `${what}: ${status}`).toBe(true);
    }
    expect(rssMiB() - rss0).toBeLessThan(300);
    const left = await leftovers();
    expect(left.inTmp).toEqual([]);
    expect(left.missing).toEqual([]);
    expect(left.rows).toBeGreaterThan(0);
  });
});
