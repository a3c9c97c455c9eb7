/**
 * `tributary anonymize`, run as a user runs it (a child process): a folder of synthetic patients
 * plus an ultrasound instance and a file that is not DICOM. With --rules and a secret, with a
 * pool's rules and identity map (--pool), and with bad arguments.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readElementsForPreview } from '@/lib/anonymize/engine';
import { pseudonymFor } from '@/lib/anonymize/pseudonym';
import { db } from '@/lib/db';
import { type Corpus, writeCorpus } from '@/lib/synthetic';
import { makePool, suffix } from '../../helpers/fixtures';
import { ultrasound } from './helpers';

const BIN = path.resolve(import.meta.dirname, '..', '..', '..', 'bin', 'tributary.mjs');
const SECRET = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'anonymize', ...args], { encoding: 'utf8', env: { ...process.env }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else out.push(p);
  }
  return out.sort();
}

let root: string;
let inDir: string;
let corpus: Corpus;
const usMrn = `MRN-US-${suffix()}`;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-cli-deid-'));
  inDir = path.join(root, 'in');
  corpus = await writeCorpus(inDir, { seed: 5, patients: 2, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 2, rows: 8, columns: 8 });
  const us = ultrasound({ mrn: usMrn, study: '1.2.826.0.1.3680043.9.5.1', series: '1.2.826.0.1.3680043.9.5.2', sop: '1.2.826.0.1.3680043.9.5.3' });
  await fs.mkdir(path.join(inDir, 'echo'), { recursive: true });
  await fs.writeFile(path.join(inDir, 'echo', 'us.dcm'), us.bytes);
  await fs.writeFile(path.join(inDir, 'notes.txt'), 'not a DICOM file');
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('tributary anonymize --rules', () => {
  it('de-identifies the folder, holds the ultrasound, reports the bad file, and prints no PHI', async () => {
    const rules = path.join(root, 'rules.json');
    await fs.writeFile(rules, JSON.stringify({ profile: 'basic', options: ['retainLongitudinalModifiedDates'] }));
    const out = path.join(root, 'out-rules');
    const q = path.join(root, 'quarantine');
    const r = cli(['--rules', rules, '--secret', SECRET, '--quarantine-dir', q, '--concurrency', '2', inDir, out]);
    expect(r.code, r.err).toBe(1); // one file failed
    expect(r.out).toMatch(/processed 6 file\(s\): 4 written, 1 quarantined, 1 failed/);
    expect(r.out).toMatch(/quarantined 1: ultrasound: /);
    expect(r.out).toMatch(/failed 1: .*no DICM prefix/);
    const written = await files(out);
    expect(written).toHaveLength(4);
    expect(await files(q)).toHaveLength(1);
    for (const f of written) expect(path.relative(out, f)).toMatch(/^2\.25\.\d+\/2\.25\.\d+\/2\.25\.\d+\.dcm$/);
    const everything = Buffer.concat(await Promise.all(written.map((f) => fs.readFile(f)))).toString('latin1');
    for (const p of corpus.patients) {
      expect(everything).not.toContain(p.patientId);
      expect(everything).not.toContain(p.patientName);
      expect(r.out + r.err).not.toContain(p.patientId);
    }
    // The research ID is the secret's pseudonym of the MRN.
    const ids = new Set(written.map((f) => readElementsForPreview(readFileSync(f)).find((e) => e.keyword === 'PatientID')!.value));
    expect(ids).toEqual(new Set(corpus.patients.map((p) => pseudonymFor(SECRET, p.patientId))));
    expect(r.out + r.err).not.toContain('notes.txt'); // paths only with --list-failed

    // Same secret, same research UIDs: a later run links to this one.
    const again = cli(['--rules', rules, '--secret', SECRET, '--concurrency', '2', inDir, path.join(root, 'out-again')]);
    expect(again.code).toBe(1);
    expect((await files(path.join(root, 'out-again'))).map((f) => path.relative(path.join(root, 'out-again'), f))).toEqual(written.map((f) => path.relative(out, f)));
    expect(again.out).toMatch(/quarantined instances were not written/);
  });

  it('prints a new secret when none is given, and lists failed paths only on request', () => {
    const rules = path.join(root, 'rules.json');
    const r = cli(['--rules', rules, '--list-failed', '--json', inDir, path.join(root, 'out-random')]);
    expect(r.err).toMatch(/generated [0-9a-f]{64}/);
    expect(r.err).toMatch(/keep it/);
    expect(r.err).toMatch(/failed: notes\.txt: /);
    expect(JSON.parse(r.out)).toMatchObject({ files: 6, written: 4, quarantined: 1, failed: 1 });
  });

  it('refuses bad arguments and invalid rules with a clear message', async () => {
    const bad = path.join(root, 'bad.json');
    await fs.writeFile(bad, JSON.stringify({ profile: 'basic', overrides: [{ selector: 'NoSuchKeyword', action: 'keep' }] }));
    const invalid = cli(['--rules', bad, inDir, path.join(root, 'x')]);
    expect(invalid.code).toBe(2);
    expect(invalid.err).toMatch(/not valid:\n\s+overrides\.0: unknown keyword "NoSuchKeyword"/);
    await fs.writeFile(path.join(root, 'broken.json'), '{ nope');
    expect(cli(['--rules', path.join(root, 'broken.json'), inDir, path.join(root, 'x')]).err).toMatch(/not valid JSON/);
    expect(cli([inDir, path.join(root, 'x')]).err).toMatch(/exactly one of --pool/);
    expect(cli(['--rules', bad, '--secret', 'xyz', inDir, path.join(root, 'x')]).code).toBe(2);
    expect(cli(['--rules', path.join(root, 'rules.json'), '--secret', 'abc', inDir, path.join(root, 'x')]).err).toMatch(/hex digits/);
    expect(cli(['--rules', path.join(root, 'rules.json'), path.join(root, 'missing'), path.join(root, 'x')]).err).toMatch(/input folder not found/);
  });
});

describe('tributary anonymize --pool', () => {
  it("uses the pool's rules, secret and identity map, creating identities as retrievals do", async () => {
    const pool = await makePool();
    const [known, fresh] = corpus.patients;
    await db.patientIdentity.create({ data: { poolId: pool.id, sourcePatientId: known.patientId, researchId: `KNOWN-${suffix()}`, researchName: 'KNOWN^PATIENT', dateOffsetDays: 12 } });
    const out = path.join(root, 'out-pool');
    const r = cli(['--pool', pool.id, '--concurrency', '2', inDir, out]);
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/4 written, 1 quarantined, 1 failed/);
    const ids = await db.patientIdentity.findMany({ where: { poolId: pool.id } });
    const by = new Map(ids.map((i) => [i.sourcePatientId, i.researchId]));
    expect(ids).toHaveLength(3); // two synthetic patients and the ultrasound's
    expect(by.get(fresh.patientId)).toBe(pseudonymFor(pool.secret, fresh.patientId));
    expect(by.get(usMrn)).toBeDefined();
    const written = await files(out);
    const patientIds = new Set(written.map((f) => readElementsForPreview(readFileSync(f)).find((e) => e.keyword === 'PatientID')!.value));
    expect(patientIds).toEqual(new Set([by.get(known.patientId), by.get(fresh.patientId)]));
    expect(await db.studyIdentity.count({ where: { poolId: pool.id } })).toBe(3);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { poolId: pool.id, action: 'pool.cli-anonymize' } });
    expect(audit.detail).toMatchObject({ written: 4, quarantined: 1, failed: 1, ruleVersion: 1 });
    expect(r.out + r.err).not.toContain(known.patientId);
    // Nothing entered the pool itself: the CLI writes to the output folder only.
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(0);
  });

  it('refuses an unknown pool', () => {
    const r = cli(['--pool', 'no-such-pool', inDir, path.join(root, 'x')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no pool with this id/);
  });
});

