import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../lib/errors';
import { anonymizeFolder, readSourcePatientId } from '../../../lib/anonymize/folder';
import { createDeidPool } from '../../../lib/anonymize/pool';
import { DEFAULT_RULES } from '../../../lib/anonymize/rules';
import { remapUid } from '../../../lib/anonymize/engine';
import { IDENTITY, SECRET, TS, buildPart10, ctInstance } from './helpers';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tributary-anon-pool-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('worker pool', () => {
  const inDir = path.join(tmp, 'pool-in');
  mkdirSync(inDir, { recursive: true });
  const files = Array.from({ length: 12 }, (_, i) => {
    const f = path.join(inDir, `${i}.dcm`);
    writeFileSync(f, buildPart10(ctInstance([], { uids: { sop: `1.2.3.9.${i}` } }), { ts: i % 2 ? TS.implicit : TS.explicit }));
    return f;
  });

  it('de-identifies files in worker threads, writes them and returns the index fields', async () => {
    const pool = createDeidPool(2);
    try {
      const results = await Promise.all(
        files.map((f, i) => pool.run({ inPath: f, outPath: path.join(tmp, 'pool-out', `${i}.dcm`), rules: DEFAULT_RULES, uidSecret: SECRET, identity: IDENTITY, ruleVersion: 4 })),
      );
      results.forEach((r, i) => {
        expect(r.written).toBe('out');
        expect(r.targetUids.sop).toBe(remapUid(`1.2.3.9.${i}`, SECRET));
        expect(r.index).toMatchObject({ patientId: 'RID0001', patientName: 'RESEARCH^0001', rows: 8, modality: 'CT' });
        const out = readFileSync(path.join(tmp, 'pool-out', `${i}.dcm`));
        expect(out.length).toBe(r.size);
        expect(out.includes(Buffer.from('Doe^John'))).toBe(false);
      });
    } finally {
      await pool.close();
    }
  });

  it('reports errors as AppError and keeps serving', async () => {
    const junk = path.join(tmp, 'junk.bin');
    writeFileSync(junk, 'not dicom at all');
    const pool = createDeidPool(1);
    try {
      const bad = pool.run({ inPath: junk, outPath: path.join(tmp, 'x.dcm'), rules: DEFAULT_RULES, uidSecret: SECRET, identity: IDENTITY, ruleVersion: 1 });
      await expect(bad).rejects.toBeInstanceOf(AppError);
      await expect(bad).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      const missing = pool.run({ inPath: path.join(tmp, 'nope', 'MRN123.dcm'), outPath: path.join(tmp, 'y.dcm'), rules: DEFAULT_RULES, uidSecret: SECRET, identity: IDENTITY, ruleVersion: 1 });
      await expect(missing).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await missing.catch((e: Error) => expect(e.message).not.toContain('MRN123'));
      const ok = await pool.run({ inPath: files[0], outPath: path.join(tmp, 'z.dcm'), rules: DEFAULT_RULES, uidSecret: SECRET, identity: IDENTITY, ruleVersion: 1 });
      expect(ok.written).toBe('out');
    } finally {
      await pool.close();
    }
    await expect(pool.run({ inPath: files[0], outPath: path.join(tmp, 'w.dcm'), rules: DEFAULT_RULES, uidSecret: SECRET, identity: IDENTITY, ruleVersion: 1 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('does not write a quarantined instance unless given a quarantine path', async () => {
    const us = path.join(tmp, 'us.dcm');
    writeFileSync(us, buildPart10(ctInstance([{ tag: 0x00080060, vr: 'CS', value: 'US' }])));
    const pool = createDeidPool(0); // inline
    const a = await pool.run({ inPath: us, outPath: path.join(tmp, 'q1.dcm'), rules: DEFAULT_RULES, uidSecret: SECRET, identity: IDENTITY, ruleVersion: 1 });
    expect(a.quarantine?.reason).toMatch(/ultrasound/);
    expect(a.written).toBe('none');
    expect(existsSync(path.join(tmp, 'q1.dcm'))).toBe(false);
    const b = await pool.run({ inPath: us, outPath: path.join(tmp, 'q2.dcm'), quarantinePath: path.join(tmp, 'quarantine', 'q2.dcm'), rules: DEFAULT_RULES, uidSecret: SECRET, identity: IDENTITY, ruleVersion: 1 });
    expect(b.written).toBe('quarantine');
    expect(existsSync(path.join(tmp, 'quarantine', 'q2.dcm'))).toBe(true);
    expect(existsSync(path.join(tmp, 'q2.dcm'))).toBe(false);
    await pool.close();
  });
});

describe('anonymizeFolder', () => {
  it('de-identifies a folder into research-UID paths, skipping DICOMDIR and dot-files, reporting failures', async () => {
    const inDir = path.join(tmp, 'folder-in', 'DOE_JOHN_MRN998877');
    mkdirSync(path.join(inDir, 'series1'), { recursive: true });
    const patients = ['MRN998877', 'MRN000111'];
    for (let i = 0; i < 6; i++) {
      const pid = patients[i % 2];
      writeFileSync(path.join(inDir, 'series1', `IM${i}`), buildPart10(ctInstance([{ tag: 0x00100020, vr: 'LO', value: pid }], { uids: { study: `1.2.5.${i % 2}`, sop: `1.2.5.9.${i}` } }), { ts: i === 3 ? TS.deflated : TS.explicit }));
    }
    writeFileSync(path.join(inDir, 'US1'), buildPart10(ctInstance([{ tag: 0x00080060, vr: 'CS', value: 'US' }], { uids: { sop: '1.2.5.8' } })));
    writeFileSync(path.join(inDir, 'notes.txt'), 'Doe John follow-up');
    writeFileSync(path.join(inDir, 'DICOMDIR'), 'ignored');
    writeFileSync(path.join(inDir, '.DS_Store'), 'ignored');
    const outDir = path.join(tmp, 'folder-out');
    const quarantineDir = path.join(tmp, 'folder-quarantine');
    const seen: string[] = [];
    const progress: number[] = [];
    const res = await anonymizeFolder({
      inDir: path.join(tmp, 'folder-in'),
      outDir,
      quarantineDir,
      rules: DEFAULT_RULES,
      uidSecret: SECRET,
      concurrency: 2,
      identityFor: (pid) => {
        seen.push(pid);
        return { researchId: `R-${patients.indexOf(pid)}`, researchName: `RESEARCH^${patients.indexOf(pid)}`, dateOffsetDays: -3 };
      },
      onProgress: (done) => progress.push(done),
    });
    expect(res.processed).toBe(7);
    expect(res.written).toBe(6);
    expect(res.quarantined).toBe(1);
    expect(res.failed).toEqual([{ file: path.join('DOE_JOHN_MRN998877', 'notes.txt'), error: 'Malformed DICOM: not a DICOM Part-10 file (no DICM prefix)' }]);
    expect(new Set(seen)).toEqual(new Set([...patients]));
    expect(seen.length).toBe(2); // one identity lookup per patient
    expect(progress[progress.length - 1]).toBe(8);
    const out = walk(outDir);
    expect(out.length).toBe(6);
    for (const f of out) {
      expect(path.relative(outDir, f)).toMatch(/^2\.25\.\d+\/2\.25\.\d+\/2\.25\.\d+\.dcm$/);
      const buf = readFileSync(f);
      expect(buf.includes(Buffer.from('MRN'))).toBe(false);
    }
    expect(out.some((f) => f.includes(remapUid('1.2.5.1', SECRET)))).toBe(true);
    expect(walk(quarantineDir).length).toBe(1);
    expect(readdirSync(outDir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('readSourcePatientId reads the MRN from the file head, whatever the transfer syntax', async () => {
    for (const ts of [TS.explicit, TS.implicit, TS.bigEndian, TS.deflated]) {
      const f = path.join(tmp, `pid-${ts}.dcm`);
      writeFileSync(f, buildPart10(ctInstance(), { ts }));
      expect(await readSourcePatientId(f)).toBe('MRN998877');
    }
    const none = path.join(tmp, 'pid-none.dcm');
    writeFileSync(none, buildPart10(ctInstance().filter((e) => e.tag !== 0x00100020)));
    expect(await readSourcePatientId(none)).toBe('');
  });
});
