/**
 * Issue 9, finding 6 (files), the STOW-RS and pool-deletion parts:
 * - a UID that an object keeps (Retain UIDs, pool-side data) becomes a storage path: ".", "..",
 *   "a/b", overlong and other non-UIDs are refused (0xC000) and nothing is written anywhere;
 * - STOW never replaces an instance already in the pool: 0x0111 per object, the stored bytes stay,
 *   the attempt is audited;
 * - deleting a pool leaves nothing of it under STORAGE_ROOT (pool data, quarantine, thumbnails,
 *   staged originals of its pushes and retrievals).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '@/lib/anonymize/rules';
import { createApiToken } from '@/lib/auth/tokens';
import { db, type Pool } from '@/lib/db';
import { seriesThumbnail } from '@/lib/imaging/series-thumbnail';
import { deletePool } from '@/lib/pools/pools';
import { poolInstanceRelPath, quarantineRelPath, readFile, stagingDir, stagingStudyDir, storageRoot } from '@/lib/storage';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { actorOf, makeConnector, makePool, makeUser } from '../../helpers/fixtures';
import { filesUnder, stowObjects } from './helpers';
import { readDicom } from './objects';

let corpus: Corpus;
let owner: Awaited<ReturnType<typeof makeUser>>;
let ownerToken: string;

const OVERLONG = `1.${'2'.repeat(64)}`;
const BAD_UIDS = ['..', '.', 'a/b', '../../etc', '1..2', '1.2.', OVERLONG, '1.2.3/../4'];
/** dcmjs will not write a UID longer than 64 characters: written as this, then patched in. */
const PLACEHOLDER = `9.${'9'.repeat(62)}`;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A corpus object with some of its UIDs replaced. */
function withUids(index: number, uids: { study?: string; series?: string; sop?: string; patientId?: string; description?: string }): Buffer {
  const d = readDicom(corpus.instances[index].buffer);
  if (uids.study) d.dict['0020000D'] = { vr: 'UI', Value: [uids.study] };
  if (uids.series) d.dict['0020000E'] = { vr: 'UI', Value: [uids.series] };
  if (uids.sop) {
    d.dict['00080018'] = { vr: 'UI', Value: [uids.sop] };
    d.meta['00020003'] = { vr: 'UI', Value: [uids.sop] };
  }
  if (uids.patientId) d.dict['00100020'] = { vr: 'LO', Value: [uids.patientId] };
  if (uids.description) d.dict['0008103E'] = { vr: 'LO', Value: [uids.description] };
  for (const k of ['0020000D', '0020000E', '00080018'] as const) if (d.dict[k]?.Value?.[0] === OVERLONG) d.dict[k].Value = [PLACEHOLDER];
  if (d.meta['00020003']?.Value?.[0] === OVERLONG) d.meta['00020003'].Value = [PLACEHOLDER];
  return overlong(Buffer.from(d.write()));
}

/** Replaces each PLACEHOLDER value by OVERLONG, fixing its (explicit or implicit VR) length and the meta group length. */
function overlong(buf: Buffer): Buffer {
  const grow = OVERLONG.length - PLACEHOLDER.length;
  let out = buf;
  for (let at = out.indexOf(PLACEHOLDER); at >= 0; at = out.indexOf(PLACEHOLDER, at + OVERLONG.length)) {
    const explicit = out.toString('latin1', at - 4, at - 2) === 'UI';
    out = Buffer.concat([out.subarray(0, at), Buffer.from(OVERLONG, 'latin1'), out.subarray(at + PLACEHOLDER.length)]);
    if (explicit) out.writeUInt16LE(OVERLONG.length, at - 2);
    else out.writeUInt32LE(OVERLONG.length, at - 4);
    if (out.readUInt16LE(at - 8) === 0x0002) out.writeUInt32LE(out.readUInt32LE(140) + grow, 140); // (0002,0000) group length
  }
  return out;
}

async function ownedPool(rules?: unknown): Promise<Pool> {
  return makePool({ members: [{ userId: owner.id, role: 'OWNER' }], rules });
}

beforeAll(async () => {
  owner = await makeUser('RESEARCHER');
  ownerToken = (await createApiToken({ userId: owner.id, name: 'o' })).token;
  corpus = generateCorpus({ seed: 97, patients: 1, rows: 16, columns: 16, instancesPerSeries: 4, seriesPerStudy: 1 });
});

describe('one UID check for storage paths', () => {
  it('refuses path-like or invalid UIDs where a storage path is built', () => {
    for (const bad of BAD_UIDS) {
      expect(() => poolInstanceRelPath('p1', bad, '1.2', '1.3'), bad).toThrow(/Invalid Study Instance UID/);
      expect(() => poolInstanceRelPath('p1', '1.2', bad, '1.3'), bad).toThrow(/Invalid Series Instance UID/);
      expect(() => poolInstanceRelPath('p1', '1.2', '1.3', bad), bad).toThrow(/Invalid SOP Instance UID/);
      expect(() => quarantineRelPath('p1', bad), bad).toThrow(/Invalid SOP Instance UID/);
      expect(() => stagingStudyDir('p1', bad), bad).toThrow(/Invalid Study Instance UID/);
    }
    expect(poolInstanceRelPath('p1', '1.2', '1.2.3', PLACEHOLDER)).toBe(path.join('pools', 'p1', '1.2', '1.2.3', `${PLACEHOLDER}.dcm`));
  });

  it('STOW with Retain UIDs: objects whose UIDs are not UIDs are refused (0xC000) and nothing is written', async () => {
    const pool = await ownedPool({ ...DEFAULT_RULES, options: [...DEFAULT_RULES.options, 'retainUids'] });
    const before = await filesUnder(storageRoot());
    const objects: Buffer[] = [];
    for (const [k, bad] of BAD_UIDS.entries()) {
      objects.push(withUids(0, { study: bad, series: bad, sop: bad }));
      objects.push(withUids(1, { study: `1.2.826.0.1.99.${k}`, series: bad, sop: `1.2.826.0.1.99.${k}.1` }));
      objects.push(withUids(2, { study: `1.2.826.0.1.98.${k}`, series: `1.2.826.0.1.98.${k}.1`, sop: bad }));
    }
    const res = await stowObjects(pool.id, ownerToken, objects);
    expect(res.status, res.text).toBe(409);
    expect(res.failureReasons).toEqual(objects.map(() => 0xc000));
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(0);
    expect(await db.study.count({ where: { poolId: pool.id } })).toBe(0);
    expect(await db.patientIdentity.count({ where: { poolId: pool.id } })).toBe(0);
    expect(await filesUnder(storageRoot())).toEqual(before);

    // A good object with kept UIDs is still stored under them.
    const good = await stowObjects(pool.id, ownerToken, [withUids(3, { study: '1.2.826.0.1.97', series: '1.2.826.0.1.97.1', sop: '1.2.826.0.1.97.1.1' })]);
    expect(good.status, good.text).toBe(200);
    const row = await db.instance.findFirstOrThrow({ where: { poolId: pool.id } });
    expect(row.path).toBe(path.join('pools', pool.id, '1.2.826.0.1.97', '1.2.826.0.1.97.1', '1.2.826.0.1.97.1.1.dcm'));
  });

  it('STOW of pool-side data (kept UIDs) with a non-UID series or SOP UID is refused', async () => {
    const pool = await ownedPool();
    expect((await stowObjects(pool.id, ownerToken, [corpus.instances[0].buffer])).status).toBe(202);
    const study = await db.study.findFirstOrThrow({ where: { poolId: pool.id } });
    const before = await filesUnder(storageRoot());
    const res = await stowObjects(pool.id, ownerToken, [
      withUids(1, { study: study.studyInstanceUid, patientId: study.patientId, series: '..', sop: '2.25.1234' }),
      withUids(1, { study: study.studyInstanceUid, patientId: study.patientId, series: '2.25.77', sop: '..' }),
      withUids(1, { study: study.studyInstanceUid, patientId: study.patientId, series: 'x/y', sop: '2.25.1235' }),
    ]);
    expect(res.status, res.text).toBe(409);
    expect(res.failureReasons).toEqual([0xc000, 0xc000, 0xc000]);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(1);
    expect(await filesUnder(storageRoot())).toEqual(before);
  });
});

describe('STOW never replaces a stored instance', () => {
  it('refuses pool-side and re-sent objects with the SOP Instance UID of a stored one (0x0111), bytes unchanged, audited', async () => {
    const pool = await ownedPool();
    const first = await stowObjects(pool.id, ownerToken, [corpus.instances[0].buffer]);
    expect(first.status, first.text).toBe(202);
    const stored = await db.instance.findFirstOrThrow({ where: { poolId: pool.id }, include: { series: { include: { study: true } } } });
    const bytes = await readFile(stored.path);
    const row = { size: stored.size, updatedAt: (stored as { updatedAt?: Date }).updatedAt };

    // Pool-side: research study UID and PatientID, the stored SOP Instance UID, other content.
    const poolSide = withUids(1, {
      study: stored.series.study.studyInstanceUid,
      series: stored.series.seriesInstanceUid,
      sop: stored.sopInstanceUid,
      patientId: stored.series.study.patientId,
      description: 'REPLACED CONTENT',
    });
    // New data: the same source object again, changed (its research UIDs are the stored one's).
    const resent = withUids(0, { description: 'REPLACED AGAIN' });
    const res = await stowObjects(pool.id, ownerToken, [poolSide, resent]);
    expect(res.status, res.text).toBe(409);
    expect(res.failureReasons).toEqual([0x0111, 0x0111]);
    expect(sha(await readFile(stored.path))).toBe(sha(bytes));
    const after = await db.instance.findUniqueOrThrow({ where: { id: stored.id } });
    expect({ size: after.size, updatedAt: (after as { updatedAt?: Date }).updatedAt }).toEqual(row);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(1);
    expect(await filesUnder(path.join(storageRoot(), 'pools', pool.id))).toHaveLength(1);

    const refused = await db.auditEvent.findMany({ where: { poolId: pool.id, action: 'dicomweb.stow-duplicate' } });
    expect(refused).toHaveLength(2);
    for (const e of refused) expect(e).toMatchObject({ userId: owner.id, targetType: 'instance', targetId: stored.id });
    const summary = await db.auditEvent.findFirstOrThrow({ where: { poolId: pool.id, action: 'dicomweb.stow' }, orderBy: { at: 'desc' } });
    expect(summary.detail).toMatchObject({ stored: 0, failed: 2, duplicates: 2 });
  });

  it('refuses an object that would replace one held in quarantine', async () => {
    const pool = await ownedPool();
    const burned = (k: number, description?: string) => {
      const d = readDicom(withUids(k, { description }));
      d.dict['00280301'] = { vr: 'CS', Value: ['YES'] };
      return Buffer.from(d.write());
    };
    const first = await stowObjects(pool.id, ownerToken, [burned(0)]);
    expect(first.status, first.text).toBe(202);
    const held = await db.quarantinedInstance.findFirstOrThrow({ where: { poolId: pool.id } });
    const bytes = await readFile(held.path);
    const again = await stowObjects(pool.id, ownerToken, [burned(0, 'REPLACED')]);
    expect(again.failureReasons).toEqual([0x0111]);
    expect(sha(await readFile(held.path))).toBe(sha(bytes));
    expect(await db.auditEvent.count({ where: { poolId: pool.id, action: 'dicomweb.stow-duplicate' } })).toBe(1);
  });
});

describe('deleting a pool', () => {
  it('removes every file of it: pool data, quarantine, thumbnails, staged originals of its pushes and retrievals', async () => {
    const admin = await makeUser('ADMIN');
    const pool = await ownedPool();
    const other = await ownedPool();
    // Stored and quarantined (burned-in) objects, and a rendered thumbnail.
    const d = readDicom(corpus.instances[1].buffer);
    d.dict['00280301'] = { vr: 'CS', Value: ['YES'] };
    const res = await stowObjects(pool.id, ownerToken, [corpus.instances[0].buffer, Buffer.from(d.write())]);
    expect(res.status, res.text).toBe(202);
    expect(await db.quarantinedInstance.count({ where: { poolId: pool.id } })).toBe(1);
    const series = await db.series.findFirstOrThrow({ where: { poolId: pool.id } });
    await seriesThumbnail(pool.id, series.id);
    // The other pool keeps its data.
    expect((await stowObjects(other.id, ownerToken, [corpus.instances[2].buffer])).status).toBe(202);
    const otherFiles = await filesUnder(path.join(storageRoot(), 'pools', other.id));
    expect(otherFiles).toHaveLength(1);

    // A pushed original waiting in the pool's own staging area.
    const pushDir = stagingStudyDir(pool.id, '1.2.826.0.1.55');
    await fs.mkdir(pushDir, { recursive: true });
    await fs.writeFile(path.join(pushDir, '1.2.826.0.1.55.1.dcm'), corpus.instances[3].buffer);
    await db.stagedInstance.create({
      data: { receivingPoolId: pool.id, callingAeTitle: 'MODALITY', studyInstanceUid: '1.2.826.0.1.55', sopInstanceUid: '1.2.826.0.1.55.1', sopClassUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntax: '1.2.840.10008.1.2.1', path: path.join(pushDir, '1.2.826.0.1.55.1.dcm'), size: corpus.instances[3].buffer.length },
    });
    // An original of one of its retrievals, staged under the connector's receiving pool.
    const { connector, receivingPool } = await makeConnector({ pacsAe: 'PACS_DEL', port: 104 });
    const query = await db.query.create({
      data: { poolId: pool.id, connectorId: connector.id, status: 'DONE', items: { create: { rowNumber: 1, patientId: 'MRN-DEL', status: 'DONE', resultCount: 1 } } },
      include: { items: true },
    });
    const result = await db.queryResult.create({ data: { queryId: query.id, itemId: query.items[0].id, studyInstanceUid: '1.2.826.0.1.66', patientId: 'MRN-DEL' } });
    const retrieval = await db.retrieval.create({ data: { queryId: query.id, resultId: result.id, poolId: pool.id, connectorId: connector.id, studyInstanceUid: '1.2.826.0.1.66', state: 'MOVING' } });
    const retrievalDir = stagingStudyDir(receivingPool.id, '1.2.826.0.1.66');
    await fs.mkdir(retrievalDir, { recursive: true });
    const stagedFile = path.join(retrievalDir, '1.2.826.0.1.66.1.dcm');
    await fs.writeFile(stagedFile, corpus.instances[3].buffer);
    await db.stagedInstance.create({
      data: { receivingPoolId: receivingPool.id, retrievalId: retrieval.id, callingAeTitle: 'PACS_DEL', studyInstanceUid: '1.2.826.0.1.66', sopInstanceUid: '1.2.826.0.1.66.1', sopClassUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntax: '1.2.840.10008.1.2.1', path: stagedFile, size: corpus.instances[3].buffer.length },
    });

    const mine = async () => (await filesUnder(storageRoot())).filter((f) => f.includes(pool.id) || f.startsWith(path.relative(storageRoot(), retrievalDir)));
    const present = await mine();
    for (const area of ['pools', 'quarantine', 'thumbs', 'staging']) expect(present.some((f) => f.startsWith(`${area}${path.sep}${pool.id}${path.sep}`)), area).toBe(true);
    expect(present).toContain(path.relative(storageRoot(), stagedFile));

    await deletePool(actorOf(admin), pool.id);

    expect(await mine()).toEqual([]);
    for (const area of ['pools', 'quarantine', 'thumbs', 'staging']) await expect(fs.stat(path.join(storageRoot(), area, pool.id))).rejects.toThrow();
    await expect(fs.stat(retrievalDir)).rejects.toThrow();
    expect(await db.stagedInstance.count({ where: { OR: [{ receivingPoolId: pool.id }, { sopInstanceUid: '1.2.826.0.1.66.1' }] } })).toBe(0);
    // Nothing of the other pool went with it.
    expect(await filesUnder(path.join(storageRoot(), 'pools', other.id))).toEqual(otherFiles);
    expect(await fs.stat(stagingDir(receivingPool.id)).then(() => true)).toBe(true);
  });
});
