/**
 * Who may open an association to the worker's SCP, with the real worker hooks (pool AE titles,
 * connectors and allowed sending devices from PostgreSQL) and DCMTK storescu as the sender:
 * - an allowed device pushing into a research pool: accepted, de-identified into the pool, no
 *   PHI in the pool's files, nothing left in staging;
 * - an unknown calling AE, a device not allowed for that pool, a device sending to a receiving
 *   pool it is not the PACS of: association rejected, nothing stored;
 * - a connector's PACS sending a study no retrieval asked for: the store is refused.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { generateCorpus } from '@/lib/synthetic';
import { makeConnector, makePool, suffix } from '../../helpers/fixtures';
import { DCMTK_ENV, freePort } from '../../helpers/orthanc';
import { allFiles } from '../../helpers/files';

const run = promisify(execFile);

let worker: { stop(): Promise<void>; scpPort: number };
let srcDir: string;
let storageRoot: string;
const corpus = generateCorpus({ seed: 404, patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 3, rows: 16, columns: 16 });
const files: string[] = [];

beforeAll(async () => {
  storageRoot = (await import('@/lib/storage')).storageRoot();
  srcDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-push-'));
  for (const [i, inst] of corpus.instances.entries()) {
    const f = path.join(srcDir, `${i}.dcm`);
    await fs.writeFile(f, inst.buffer);
    files.push(f);
  }
  const { startWorker } = await import('@/workers/index');
  worker = await startWorker({ scpPort: await freePort() });
});

afterAll(async () => {
  await worker?.stop();
  await fs.rm(srcDir, { recursive: true, force: true });
});

async function storescu(callingAe: string, calledAe: string, which = files) {
  try {
    const r = await run('storescu', ['-v', '-aet', callingAe, '-aec', calledAe, '127.0.0.1', String(worker.scpPort), ...which], { env: DCMTK_ENV });
    return { ok: true, out: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
  }
}

async function setup() {
  const s = suffix();
  const device = await db.device.create({ data: { name: `Scanner ${s}`, aeTitle: `SCAN_${s}`, host: '127.0.0.1', port: 104 } });
  const pool = await makePool();
  await db.poolDevice.create({ data: { poolId: pool.id, deviceId: device.id } });
  return { device, pool };
}

describe('pushing into a research pool', () => {
  it('accepts an allowed device and de-identifies what it sends into the pool', async () => {
    const { device, pool } = await setup();
    const r = await storescu(device.aeTitle, pool.aeTitle);
    expect(r.ok, r.out).toBe(true);

    const instances = await db.instance.findMany({ where: { poolId: pool.id } });
    expect(instances).toHaveLength(files.length);
    const study = await db.study.findFirstOrThrow({ where: { poolId: pool.id } });
    const patient = corpus.patients[0];
    const identity = await db.patientIdentity.findUniqueOrThrow({ where: { poolId_sourcePatientId: { poolId: pool.id, sourcePatientId: patient.patientId } } });
    expect(study.patientId).toBe(identity.researchId);
    expect(study.numInstances).toBe(files.length);
    expect(study.studyInstanceUid).not.toBe(patient.studies[0].studyInstanceUid);

    const poolFiles = await allFiles(path.join(storageRoot, 'pools', pool.id));
    expect(poolFiles).toHaveLength(files.length);
    const phi = [patient.patientId, patient.patientName, patient.birthDate, patient.studies[0].accessionNumber, ...corpus.phiStrings];
    for (const f of poolFiles) {
      const bytes = (await fs.readFile(f)).toString('latin1');
      for (const p of phi) expect(bytes.includes(p), `${path.basename(f)} contains PHI`).toBe(false);
    }
    // The received originals are gone.
    expect(await allFiles(path.join(storageRoot, 'staging', pool.id))).toEqual([]);
    expect(await db.stagedInstance.count({ where: { receivingPoolId: pool.id } })).toBe(0);

    // Provenance: the sending device, the method, the identity's source; no source identifier.
    const prov = await db.studyProvenance.findMany({ where: { poolId: pool.id } });
    expect(prov).toHaveLength(1);
    expect(prov[0]).toMatchObject({ studyId: study.id, sourceKind: 'PUSH', method: 'PUSH', deviceId: device.id, deviceName: device.name, callingAeTitle: device.aeTitle, identitySource: 'pseudonym', ruleVersions: [1] });
    for (const p of phi) expect(JSON.stringify(prov[0]).includes(p), 'provenance contains PHI').toBe(false);

    // Sent again: still one copy of each, and one provenance entry (same device, same day).
    expect((await storescu(device.aeTitle, pool.aeTitle)).ok).toBe(true);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(files.length);
    expect(await db.studyProvenance.count({ where: { poolId: pool.id } })).toBe(1);
  });

  it('rejects the association from an unknown AE or a device not allowed for that pool', async () => {
    const { pool } = await setup();
    const other = await setup();
    const stranger = await storescu(`STRANGER_${suffix()}`, pool.aeTitle);
    expect(stranger.ok).toBe(false);
    expect(stranger.out).toMatch(/Association Rejected/i);
    const wrongPool = await storescu(other.device.aeTitle, pool.aeTitle);
    expect(wrongPool.ok).toBe(false);
    expect(wrongPool.out).toMatch(/Association Rejected/i);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(0);
  });

  it('does not let an allowed device of a research pool send to a connector’s receiving AE, nor to an infrastructure pool', async () => {
    const { device } = await setup();
    const { receivingPool } = await makeConnector({ pacsAe: `PACS_${suffix()}`, port: 1 });
    const r = await storescu(device.aeTitle, receivingPool.aeTitle);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/Association Rejected/i);
    // Listing the device on an infrastructure pool does not make it a sender either.
    await db.poolDevice.create({ data: { poolId: receivingPool.id, deviceId: device.id } });
    expect((await storescu(device.aeTitle, receivingPool.aeTitle)).out).toMatch(/Association Rejected/i);
  });

  it('refuses a study no retrieval asked for from the connector’s PACS, keeping nothing', async () => {
    const pacsAe = `PACS_${suffix()}`;
    const { receivingPool } = await makeConnector({ pacsAe, port: 1 });
    const r = await storescu(pacsAe, receivingPool.aeTitle, [files[0]]);
    // The association is accepted (it is the PACS of a connector receiving here) but the store fails.
    expect(r.out).not.toMatch(/Association Rejected/i);
    expect(r.out).toMatch(/Received Store Response \(.*0x110\)/); // Processing Failure
    expect(r.out).not.toMatch(/Store Response \(Success\)/);
    expect(await db.stagedInstance.count({ where: { receivingPoolId: receivingPool.id } })).toBe(0);
    expect(await allFiles(path.join(storageRoot, 'staging', receivingPool.id))).toEqual([]);
  });
});
