/**
 * Project close-out: only the pool's owner purges (not a researcher, a coordinator, an
 * administrator or a pool-scoped token), and only with the pool's name typed; a purge interrupted
 * after its files step resumes and completes; afterwards no file is left under the pool's storage
 * folders and no row of the purged kinds, another pool is untouched, the pool takes no new data,
 * and the signed receipt verifies with the counts and hashes of what was destroyed.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { actorOf } from '../../helpers/fixtures';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { purgePool, runPurge } from '@/lib/pools/purge';
import { PoolClosedError } from '@/lib/pools/closeout';
import { closeDeidPool, storeDeidentified } from '@/lib/receive/ingest';
import { runAnonymize } from '@/lib/retrievals/run-anonymize';
import { ruleSetSchema } from '@/lib/anonymize/rules';
import { verifyReceiptDocument } from '@/lib/receipts';
import { absolute, storageRoot } from '@/lib/storage';
import { call } from '../../helpers/api';
import { makePool, makeUser, suffix } from '../../helpers/fixtures';
import { sourceInstance, stagedRetrieval, ultrasound } from '../deid/helpers';

type U = Awaited<ReturnType<typeof makeUser>>;
let owner: U;
let poolA: Awaited<ReturnType<typeof makePool>>;
let poolB: Awaited<ReturnType<typeof makePool>>;
const tokens: Record<string, string> = {};
let expectedSops: string[] = [];
let expectedShas: string[] = [];
let pushStagedFile: string;
let retrievalStagedFile: string;
let thumbFile: string;
let bBefore: Record<string, number>;
let bFiles: string[];
let mrnA: string;

const sha = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

async function filesUnder(dir: string): Promise<string[]> {
  const all = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return all.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

async function poolRowCounts(poolId: string) {
  return {
    studies: await db.study.count({ where: { poolId } }),
    series: await db.series.count({ where: { poolId } }),
    instances: await db.instance.count({ where: { poolId } }),
    provenance: await db.studyProvenance.count({ where: { poolId } }),
    quarantined: await db.quarantinedInstance.count({ where: { poolId } }),
    ocrBoxes: await db.ocrBox.count({ where: { poolId } }),
    summaries: await db.deidInstanceSummary.count({ where: { poolId } }),
    patientIdentities: await db.patientIdentity.count({ where: { poolId } }),
    studyIdentities: await db.studyIdentity.count({ where: { poolId } }),
    lookups: await db.lookupEntry.count({ where: { poolId } }),
    queries: await db.query.count({ where: { poolId } }),
    retrievals: await db.retrieval.count({ where: { poolId } }),
    staged: await db.stagedInstance.count({ where: { OR: [{ receivingPoolId: poolId }, { retrieval: { poolId } }] } }),
  };
}

const poolDirs = (poolId: string) => ['pools', 'quarantine', 'thumbs', 'staging'].map((a) => path.join(storageRoot(), a, poolId));

afterAll(async () => {
  await closeDeidPool();
});

beforeAll(async () => {
  const s = suffix();
  owner = await makeUser('RESEARCHER');
  const researcher = await makeUser('RESEARCHER');
  const coordinator = await makeUser('COORDINATOR');
  const admin = await makeUser('ADMIN');
  poolA = await makePool({ members: [{ userId: owner.id, role: 'OWNER' }, { userId: researcher.id, role: 'RESEARCHER' }, { userId: coordinator.id, role: 'COORDINATOR' }] });
  poolB = await makePool({ members: [{ userId: owner.id, role: 'OWNER' }] });
  for (const [k, u] of Object.entries({ owner, researcher, coordinator, admin })) tokens[k] = (await createApiToken({ userId: u.id, name: 'purge' })).token;
  tokens.ownerScoped = (await createApiToken({ userId: owner.id, name: 'scoped', poolId: poolA.id })).token;

  const base = `1.2.826.0.1.3680043.9.6666.${Date.now() % 1e9}`;
  mrnA = `MRNPURGE${s}A`;
  // Pool A: two CT instances stored, one ultrasound held in quarantine, an OCR box, a lookup entry,
  // a cached thumbnail, a staged original left by a push and one of an unfinished retrieval.
  const rA = await stagedRetrieval(poolA.id, {
    mrn: mrnA,
    instances: [
      sourceInstance({ mrn: mrnA, study: `${base}.1`, series: `${base}.1.1`, sop: `${base}.1.1.1` }),
      sourceInstance({ mrn: mrnA, study: `${base}.1`, series: `${base}.1.1`, sop: `${base}.1.1.2` }),
      ultrasound({ mrn: mrnA, study: `${base}.1`, series: `${base}.1.2`, sop: `${base}.1.2.1` }),
    ],
  });
  await runAnonymize(rA.retrieval.id, 0);
  const held = await db.quarantinedInstance.findFirstOrThrow({ where: { poolId: poolA.id } });
  await db.ocrBox.create({ data: { quarantinedInstanceId: held.id, poolId: poolA.id, frame: 0, x: 1, y: 1, width: 5, height: 5, confidence: 90, category: 'name' } });
  await db.lookupEntry.create({ data: { poolId: poolA.id, table: 'research-id', key: mrnA, value: `RID-${s}` } });
  const seriesA = await db.series.findFirstOrThrow({ where: { poolId: poolA.id } });
  thumbFile = path.join(storageRoot(), 'thumbs', poolA.id, `${seriesA.id}.png`);
  await fs.mkdir(path.dirname(thumbFile), { recursive: true });
  await fs.writeFile(thumbFile, Buffer.from('not really a png'));
  pushStagedFile = path.join(storageRoot(), 'staging', poolA.id, `${base}.9`, `${base}.9.1.dcm`);
  await fs.mkdir(path.dirname(pushStagedFile), { recursive: true });
  await fs.writeFile(pushStagedFile, Buffer.from('staged original'));
  await db.stagedInstance.create({
    data: { receivingPoolId: poolA.id, callingAeTitle: 'MODALITY', studyInstanceUid: `${base}.9`, sopInstanceUid: `${base}.9.1`, sopClassUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntax: '1.2.840.10008.1.2.1', path: pushStagedFile, size: 15 },
  });
  const pending = await stagedRetrieval(poolA.id, { mrn: mrnA, instances: [sourceInstance({ mrn: mrnA, study: `${base}.2`, series: `${base}.2.1`, sop: `${base}.2.1.1` })] });
  await db.retrieval.update({ where: { id: pending.retrieval.id }, data: { state: 'MOVING' } });
  retrievalStagedFile = pending.staged[0].path;

  // What the receipt must account for: the research SOP UIDs and the SHA-256 of each stored file.
  const inst = await db.instance.findMany({ where: { poolId: poolA.id } });
  const quar = await db.quarantinedInstance.findMany({ where: { poolId: poolA.id } });
  expectedSops = [...inst.map((i) => i.sopInstanceUid), ...quar.map((q) => q.sopInstanceUid)].sort();
  expectedShas = (await Promise.all([...inst, ...quar].map(async (x) => sha(await fs.readFile(absolute(x.path)))))).sort();
  expect(inst).toHaveLength(2);
  expect(quar).toHaveLength(1);

  // Pool B: one study, with the same patient (identity maps are per pool).
  const rB = await stagedRetrieval(poolB.id, { mrn: mrnA, instances: [sourceInstance({ mrn: mrnA, study: `${base}.5`, series: `${base}.5.1`, sop: `${base}.5.1.1` })] });
  await runAnonymize(rB.retrieval.id, 0);
  bBefore = await poolRowCounts(poolB.id);
  bFiles = (await Promise.all(poolDirs(poolB.id).map(filesUnder))).flat();
  expect(bFiles.length).toBeGreaterThan(0);
});

describe('who may purge', () => {
  it('refuses everyone but the owner, and the owner without the pool’s name', async () => {
    const body = { confirm: poolA.name };
    for (const who of ['researcher', 'coordinator', 'admin', 'ownerScoped']) {
      const res = await call(api.purgePool, { id: poolA.id }, { token: tokens[who], body });
      expect(res.status, who).toBe(403);
    }
    const outsider = await makeUser('RESEARCHER');
    const t = (await createApiToken({ userId: outsider.id, name: 'x' })).token;
    expect((await call(api.purgePool, { id: poolA.id }, { token: t, body })).status).toBe(404);
    for (const confirm of ['', poolA.name.toUpperCase(), `${poolA.name} `, poolB.name]) {
      const res = await call(api.purgePool, { id: poolA.id }, { token: tokens.owner, body: { confirm } });
      expect(res.status, JSON.stringify(confirm)).toBe(422);
    }
    expect((await call(api.purgePool, { id: poolA.id }, { token: tokens.owner, body: {} })).status).toBe(422);
    // Nothing happened.
    const pool = await db.pool.findUniqueOrThrow({ where: { id: poolA.id } });
    expect(pool.closedAt).toBeNull();
    expect(await db.poolPurge.count({ where: { poolId: poolA.id } })).toBe(0);
    expect((await poolRowCounts(poolA.id)).instances).toBe(2);
  });
});

describe('purge', () => {
  it('interrupted after its files step, the pool is closed and the rows are still there', async () => {
    await expect(
      purgePool(actorOf(owner), poolA, { confirm: poolA.name }, {
        afterStep: (step) => {
          if (step === 'rows') throw new Error('simulated crash after the files step');
        },
      }),
    ).rejects.toThrow();
    const purge = await db.poolPurge.findUniqueOrThrow({ where: { poolId: poolA.id } });
    expect(purge.step).toBe('rows');
    expect(purge.leaseUntil).toBeNull();
    expect((await db.pool.findUniqueOrThrow({ where: { id: poolA.id } })).closedAt).not.toBeNull();
    for (const d of poolDirs(poolA.id)) expect(await filesUnder(d), d).toEqual([]);
    await expect(fs.stat(retrievalStagedFile)).rejects.toThrow();
    expect((await poolRowCounts(poolA.id)).instances).toBe(2);
    // The unfinished retrieval was cancelled.
    expect(await db.retrieval.count({ where: { poolId: poolA.id, state: 'MOVING' } })).toBe(0);
  });

  it('a closed pool takes no new data: the index refuses it and the API says why', async () => {
    const pool = await db.pool.findUniqueOrThrow({ where: { id: poolA.id } });
    const base = `1.2.826.0.1.3680043.9.6667.${Date.now() % 1e9}`;
    const late = sourceInstance({ mrn: mrnA, study: `${base}.1`, series: `${base}.1.1`, sop: `${base}.1.1.1` });
    const file = path.join(storageRoot(), 'tmp', `late-${suffix()}.dcm`);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, late.bytes);
    await expect(
      storeDeidentified({ pool, rules: ruleSetSchema.parse(pool.rules), identity: { researchId: 'LATE', researchName: 'LATE', dateOffsetDays: 0 }, inPath: file, sourcePatientId: mrnA }),
    ).rejects.toBeInstanceOf(PoolClosedError);
    await fs.rm(file, { force: true });
    // Nothing of it stayed: no row, no file.
    expect((await poolRowCounts(poolA.id)).instances).toBe(2);
    expect(await filesUnder(path.join(storageRoot(), 'pools', poolA.id))).toEqual([]);
    const conn = await db.retrieval.findFirstOrThrow({ where: { poolId: poolA.id }, select: { connectorId: true } });
    const res = await call(api.createQuery, {}, { token: tokens.owner, body: { poolId: poolA.id, connectorId: conn.connectorId, items: [{ patientId: 'X1' }] } });
    expect(res.status).toBe(409);
    expect(res.text).toContain('closed out');
  });

  it('resumes on retry and completes: nothing of pool A left, pool B untouched', async () => {
    const res = await call(api.purgePool, { id: poolA.id }, { token: tokens.owner, body: { confirm: poolA.name } });
    expect(res.status, res.text).toBe(200);
    const { purge } = res.json as { purge: { done: boolean; receiptId: string; attempts: number } };
    expect(purge.done).toBe(true);
    expect(purge.attempts).toBe(2);
    for (const d of poolDirs(poolA.id)) expect(await filesUnder(d), d).toEqual([]);
    for (const f of [pushStagedFile, retrievalStagedFile, thumbFile]) await expect(fs.stat(f)).rejects.toThrow();
    expect(Object.values(await poolRowCounts(poolA.id)).every((n) => n === 0), JSON.stringify(await poolRowCounts(poolA.id))).toBe(true);
    const pool = await db.pool.findUniqueOrThrow({ where: { id: poolA.id } });
    expect(pool.purgedAt).not.toBeNull();
    expect(await db.poolPurgeFile.count()).toBe(0);
    // Pool B: every row and file as before.
    expect(await poolRowCounts(poolB.id)).toEqual(bBefore);
    for (const f of bFiles) await fs.access(f);
    expect((await db.pool.findUniqueOrThrow({ where: { id: poolB.id } })).closedAt).toBeNull();
  });

  it('the receipt verifies and accounts for what was destroyed; one changed byte does not verify', async () => {
    const res = await call(api.getPoolPurgeReceipt, { id: poolA.id }, { token: tokens.owner });
    expect(res.status).toBe(200);
    const doc = JSON.parse(Buffer.from(res.text, 'latin1').toString('utf8')) as { kind: string; body: Record<string, any> };
    expect(doc.kind).toBe('purge');
    expect(verifyReceiptDocument(doc).ok).toBe(true);
    const b = doc.body;
    expect(b.pool).toEqual({ id: poolA.id, name: poolA.name });
    expect(b.purgedBy.id).toBe(owner.id);
    expect(b.destroyed).toMatchObject({
      studies: 1,
      instances: 2,
      quarantinedInstances: 1,
      identityMap: { patientIdentities: 1, studyIdentities: 1, lookupEntries: 1 },
      files: { instances: { files: 2 }, quarantine: { files: 1 }, thumbnails: { files: 1 }, staging: { files: 2 } },
    });
    expect(b.destroyed.rows.ocrBoxes).toBe(1);
    expect(b.hashes.researchSopInstanceUids).toMatchObject({ count: 3, sha256: sha(expectedSops.join('\n')) });
    expect(b.hashes.storedFiles).toMatchObject({ count: 3, sha256: sha(expectedShas.join('\n')) });
    // Ids, counts and hashes: no source identifier (the MRN, the source UIDs) anywhere in it.
    for (const v of [mrnA, '1.2.826.0.1.3680043.9.6666.']) expect(res.text).not.toContain(v);
    const tampered = structuredClone(doc);
    tampered.body.destroyed.instances = 1;
    expect(verifyReceiptDocument(tampered).ok).toBe(false);
    // Administrators download it from the audit log; other members may not.
    expect((await call(api.getPoolPurgeReceipt, { id: poolA.id }, { token: tokens.admin })).status).toBe(200);
    expect((await call(api.getPoolPurgeReceipt, { id: poolA.id }, { token: tokens.researcher })).status).toBe(403);
    // Pool B has none.
    expect((await call(api.getPoolPurgeReceipt, { id: poolB.id }, { token: tokens.owner })).status).toBe(404);
  });

  it('is audited once with the receipt id and counts, and asking again signs nothing new', async () => {
    const events = await db.auditEvent.findMany({ where: { poolId: poolA.id, action: 'pool.purge' } });
    expect(events).toHaveLength(1);
    const purge = await db.poolPurge.findUniqueOrThrow({ where: { poolId: poolA.id } });
    expect(events[0]).toMatchObject({ userId: owner.id, targetType: 'receipt', targetId: purge.receiptId });
    expect(events[0].detail).toMatchObject({ studies: 1, instances: 2, quarantined: 1, thumbnails: 1, stagingFiles: 2 });
    expect(JSON.stringify(events[0].detail)).not.toContain(mrnA);
    const again = await call(api.purgePool, { id: poolA.id }, { token: tokens.owner, body: { confirm: poolA.name } });
    expect(again.status).toBe(200);
    expect(await db.receipt.count({ where: { poolId: poolA.id, kind: 'purge' } })).toBe(1);
    expect(await db.auditEvent.count({ where: { poolId: poolA.id, action: 'pool.purge' } })).toBe(1);
  });

  it('runs once at a time: a second run while one holds the lease is refused, then the first completes', async () => {
    const poolC = await makePool({ members: [{ userId: owner.id, role: 'OWNER' }] });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const atFiles = new Promise<void>((r) => (reached = r));
    const first = purgePool(actorOf(owner), poolC, { confirm: poolC.name }, {
      afterStep: async (step) => {
        if (step === 'files') {
          reached();
          await held;
        }
      },
    });
    await atFiles;
    await expect(runPurge(poolC.id)).rejects.toMatchObject({ code: 'CONFLICT' });
    release();
    expect((await first).done).toBe(true);
    expect((await db.pool.findUniqueOrThrow({ where: { id: poolC.id } })).purgedAt).not.toBeNull();
  });
});
