/**
 * The product's promise, checked end to end: every instance of the synthetic corpus (invented PHI
 * in names, IDs, dates, free text, nested sequences and private tags) goes through DEFAULT_RULES,
 * and no PHI string survives in any form: raw bytes (UTF-8 and Latin-1), or any element value
 * decoded as Latin-1 or UTF-8, compared case-insensitively and with "^" read as a space.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-ignore -- dcmjs ships no type declarations
import dcmjs from 'dcmjs';
import { afterAll, describe, expect, it } from 'vitest';
import { deidentify, readElementsForPreview } from '../../../lib/anonymize/engine';
import { parsePart10, valueString } from '../../../lib/anonymize/parse';
import { compileRules } from '../../../lib/anonymize/profile';
import { DEFAULT_RULES } from '../../../lib/anonymize/rules';
import { generateCorpus } from '../../../lib/synthetic';
import { SECRET } from './helpers';

(dcmjs as { log: { setLevel(l: string): void } }).log.setLevel('error');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tributary-phi-scan-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const corpus = generateCorpus();
const compiled = compileRules(DEFAULT_RULES);
const patientIndex = new Map(corpus.patients.map((p, i) => [p.patientId, i]));

const norm = (s: string) => s.toUpperCase().replace(/\^/g, ' ').replace(/\s+/g, ' ').trim();
const phi = corpus.phiStrings.filter((s) => s.trim().length > 0);
const phiNorm = phi.map(norm);

/** All byte forms of a PHI string that could appear in a file. */
function byteForms(s: string): Buffer[] {
  const forms = new Set([s, s.toUpperCase(), s.replace(/\^/g, ' '), s.toUpperCase().replace(/\^/g, ' ')]);
  return [...forms].flatMap((f) => [Buffer.from(f, 'utf8'), Buffer.from(f, 'latin1')]);
}

function sopClassOf(buf: Buffer): string {
  const parsed = parsePart10(buf);
  return valueString(parsed.buf, parsed.els.find((e) => e.tag === 0x00080016)!);
}

function pixelBytes(buf: Buffer): Buffer {
  const parsed = parsePart10(buf);
  const el = parsed.els.find((e) => e.tag === 0x7fe00010)!;
  return parsed.buf.subarray(el.start, el.end);
}

/**
 * dciodvfy (David Clunie's dicom3tools, Debian package `dicom3tools`): the IOD it validated against
 * and its error lines (values it quotes blanked, so a changed value does not count as a new error).
 */
function dciodvfy(file: string): { iod: string; errors: Set<string> } {
  const r = spawnSync('dciodvfy', [file], { encoding: 'latin1' });
  if (r.error) throw new Error(`dciodvfy could not run (install the Debian package dicom3tools): ${r.error.message}`);
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim());
  const iod = lines.find((l) => /^[A-Za-z0-9]+$/.test(l)) ?? '';
  const errors = new Set(lines.filter((l) => l.startsWith('Error')).map((l) => l.replace(/\[\d+\] = <[^>]*>/g, '[n] = <>')));
  return { iod, errors };
}

describe('PHI scan of the synthetic corpus with DEFAULT_RULES', () => {
  it('has a corpus with PHI to find', () => {
    expect(corpus.instances.length).toBeGreaterThan(10);
    expect(phi.length).toBeGreaterThan(20);
    // The scan itself must be able to see PHI: the inputs contain it.
    const input = corpus.instances[0].buffer;
    expect(phi.some((s) => byteForms(s).some((b) => input.includes(b)))).toBe(true);
  });

  it.each(corpus.instances.map((inst) => [inst.relPath, inst] as const))('%s', (_rel, inst) => {
    const idx = patientIndex.get(inst.patientId)!;
    const identity = { researchId: `TRIB${String(idx).padStart(4, '0')}`, researchName: `TRIB^${String(idx).padStart(4, '0')}`, dateOffsetDays: -17 - idx };
    const res = deidentify(inst.buffer, compiled, { uidSecret: SECRET }, identity, { ruleVersion: 1 });
    const out = res.output;

    // 1. Raw bytes, in every encoding and case.
    for (const s of phi) {
      for (const b of byteForms(s)) expect(out.includes(b), `raw bytes contain PHI "${s}"`).toBe(false);
    }
    // 2. Every element value, decoded as Latin-1 and as UTF-8, normalised.
    for (const e of readElementsForPreview(out)) {
      const latin1 = norm(e.value);
      const utf8 = norm(Buffer.from(e.value, 'latin1').toString('utf8'));
      phiNorm.forEach((p, i) => {
        expect(latin1.includes(p) || utf8.includes(p), `${e.path ?? ''} ${e.tag} contains PHI "${phi[i]}"`).toBe(false);
      });
    }
    // 3. Still a valid instance of the same class, pixel data untouched.
    expect(sopClassOf(out)).toBe(sopClassOf(inst.buffer));
    expect(res.sopClassUid).toBe(sopClassOf(inst.buffer));
    expect(pixelBytes(out).equals(pixelBytes(inst.buffer))).toBe(true);
    const ab = out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(ab).dict);
    expect(ds.PatientID).toBe(identity.researchId);
    expect(ds.SOPClassUID).toBe(res.sopClassUid);
    const f = path.join(tmp, 'out.dcm');
    writeFileSync(f, out);
    execFileSync('dcmdump', ['-q', f], { env: { ...process.env, TCP_NODELAY: '1' } });
    expect(res.quarantine).toBeUndefined();
    // 4. It still validates as the same IOD: dciodvfy finds no error the input did not have.
    const fin = path.join(tmp, 'in.dcm');
    writeFileSync(fin, inst.buffer);
    const before = dciodvfy(fin);
    const after = dciodvfy(f);
    expect(before.iod).toMatch(/^(CT|MR)Image$/);
    expect(after.iod).toBe(before.iod);
    expect([...after.errors].filter((e) => !before.errors.has(e))).toEqual([]);
  });
});
