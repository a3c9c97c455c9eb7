/**
 * STOW-RS into a pool: objects full of PHI come out de-identified like any retrieval; objects that
 * are already this pool's research data (a viewer's SR/SEG made on pool images) keep their UIDs;
 * the response follows PS3.18 (200/202/409, Referenced/Failed SOP Sequence); bad bodies are
 * refused; only the pool's owner may store (tests/integration/dicomweb/stow-identity.test.ts has
 * the identity-lookup attack, stow-files.test.ts the UID and replacement ones).
 */
import fs from 'node:fs/promises';
import { beforeAll, describe, expect, it, vi } from 'vitest';

// Before any module reads the configuration: a small limit makes the 413 cheap to test.
vi.hoisted(() => {
  process.env.STOW_MAX_BYTES = String(1024 * 1024);
});

import { remapUid } from '@/lib/anonymize/engine';
import { createApiToken } from '@/lib/auth/tokens';
import { db, type Pool } from '@/lib/db';
import { absolute, readFile } from '@/lib/storage';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { makePool, makeUser } from '../../helpers/fixtures';
import { bodyOf, dw } from './helpers';
import { naturalize, readDicom } from './objects';

type Json = Record<string, { vr: string; Value?: unknown[] }>;

let pool: Pool;
let corpus: Corpus;
const tokens: Record<string, string> = {};

/** A multipart/related body, delivered in small uneven chunks so boundaries fall across reads. */
function multipart(parts: { body: Buffer; type?: string }[], boundary = 'b0undary-x'): { body: ReadableStream<Uint8Array>; contentType: string; bytes: Buffer } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${p.type ?? 'application/dicom'}\r\n\r\n`));
    chunks.push(p.body, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  const bytes = Buffer.concat(chunks);
  let pos = 0;
  let n = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(ctrl) {
      if (pos >= bytes.length) return ctrl.close();
      const size = [7, 1, 333, 4096, 13][n++ % 5];
      ctrl.enqueue(new Uint8Array(bytes.subarray(pos, pos + size)));
      pos += size;
    },
  });
  return { body, contentType: `multipart/related; type="application/dicom"; boundary=${boundary}`, bytes };
}

async function stow(token: string, parts: { body: Buffer; type?: string }[], contentType?: string) {
  const m = multipart(parts);
  const res = await dw('POST', `/dicomweb/${pool.id}/studies`, { token, headers: { 'content-type': contentType ?? m.contentType, accept: 'application/dicom+json' }, body: m.body });
  const text = (await bodyOf(res)).toString('utf8');
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : null, text };
}

const seqItems = (j: Json | null, tag: string) => (j?.[tag]?.Value ?? []) as Json[];
const v = (j: Json, tag: string) => j[tag]?.Value?.[0];

beforeAll(async () => {
  const [owner, coord, researcher, outsider, admin] = await Promise.all([makeUser('RESEARCHER'), makeUser('COORDINATOR'), makeUser('RESEARCHER'), makeUser('COORDINATOR'), makeUser('ADMIN')]);
  pool = await makePool({ members: [{ userId: owner.id, role: 'OWNER' }, { userId: coord.id, role: 'COORDINATOR' }, { userId: researcher.id, role: 'RESEARCHER' }] });
  tokens.owner = (await createApiToken({ userId: owner.id, name: 'stow' })).token;
  tokens.ownerScoped = (await createApiToken({ userId: owner.id, name: 'viewer', poolId: pool.id })).token;
  tokens.admin = (await createApiToken({ userId: admin.id, name: 'a' })).token;
  tokens.coordinator = (await createApiToken({ userId: coord.id, name: 'stow' })).token;
  tokens.coordinatorScoped = (await createApiToken({ userId: coord.id, name: 'viewer', poolId: pool.id })).token;
  tokens.researcher = (await createApiToken({ userId: researcher.id, name: 'r' })).token;
  tokens.outsider = (await createApiToken({ userId: outsider.id, name: 'o' })).token;
  corpus = generateCorpus({ seed: 51, patients: 2, rows: 16, columns: 16, instancesPerSeries: 2 });
});

describe('STOW-RS', () => {
  it('stores objects with PHI de-identified, answering new UIDs with RetrieveURLs (202, coercion warning)', async () => {
    const patient = corpus.patients[0];
    const sent = corpus.instances.filter((i) => i.patientId === patient.patientId).slice(0, 3);
    const res = await stow(tokens.owner, sent.map((i) => ({ body: i.buffer })));
    expect(res.status, res.text).toBe(202);
    expect(res.json?.['00081198']).toBeUndefined();
    const items = seqItems(res.json, '00081199');
    expect(items).toHaveLength(3);
    for (const [k, item] of items.entries()) {
      expect(v(item, '00081155')).toBe(remapUid(sent[k].sopInstanceUid, pool.secret));
      expect(v(item, '00081150')).toBe('1.2.840.10008.5.1.4.1.1.2');
      expect(v(item, '00081196')).toBe(0xb000);
      const url = String(v(item, '00081190'));
      expect(url).toMatch(new RegExp(`^http://localhost:3000/dicomweb/${pool.id}/studies/2\\.25\\.\\d+/series/2\\.25\\.\\d+/instances/${v(item, '00081155')}$`));
      const back = await dw('GET', url, { token: tokens.coordinatorScoped, headers: { accept: 'application/dicom' } });
      expect(back.status).toBe(200);
      const ds = naturalize(readDicom(await bodyOf(back)));
      expect(ds.SOPInstanceUID).toBe(v(item, '00081155'));
      expect(ds.PatientID).toMatch(/^TRB-/);
    }
    const rows = await db.instance.findMany({ where: { poolId: pool.id } });
    expect(rows).toHaveLength(3);
    const phi = [patient.patientId, patient.patientName, patient.birthDate, ...patient.studies.map((s) => s.accessionNumber), ...corpus.phiStrings];
    for (const r of rows) {
      const bytes = (await fs.readFile(absolute(r.path))).toString('latin1');
      for (const p of phi) expect(bytes.includes(p), 'stored file contains PHI').toBe(false);
    }
    const study = await db.study.findFirstOrThrow({ where: { poolId: pool.id } });
    expect(study.numInstances).toBe(3);
    expect(await db.patientIdentity.count({ where: { poolId: pool.id, sourcePatientId: patient.patientId } })).toBe(1);
    expect(res.text).not.toContain(patient.patientId);
    const audit = await db.auditEvent.findFirst({ where: { poolId: pool.id, action: 'dicomweb.stow' }, orderBy: { at: 'desc' } });
    expect(audit?.detail).toMatchObject({ stored: 3, failed: 0 });    // Provenance: a STOW by the owner, research identity from the pseudonym.
    const prov = await db.studyProvenance.findMany({ where: { poolId: pool.id } });
    expect(prov).toHaveLength(1);
    expect(prov[0]).toMatchObject({ studyId: study.id, sourceKind: 'STOW', method: 'STOW', identitySource: 'pseudonym', ruleVersions: [1] });
    expect(prov[0].userId).toBe(audit?.userId);
  });

  it('keeps UIDs and research identity of objects that are already this pool’s data (e.g. a viewer’s SR)', async () => {
    const existing = await db.instance.findFirstOrThrow({ where: { poolId: pool.id }, include: { series: { include: { study: true } } } });
    const study = existing.series.study;
    // A derived object made on a pool image: new series and SOP UIDs, same study, research PatientID, a reference to the image.
    const d = readDicom(await readFile(existing.path));
    const newSop = `2.25.${BigInt('0x' + (await import('node:crypto')).randomBytes(15).toString('hex')).toString(10)}`;
    const newSeries = `${newSop}.1`;
    d.dict['00080018'] = { vr: 'UI', Value: [newSop] };
    d.meta['00020003'] = { vr: 'UI', Value: [newSop] };
    d.dict['0020000E'] = { vr: 'UI', Value: [newSeries] };
    d.dict['00100010'] = { vr: 'PN', Value: [{ Alphabetic: 'SOMEONE^ELSE' }] };
    d.dict['00081140'] = { vr: 'SQ', Value: [{ '00081150': { vr: 'UI', Value: [existing.sopClassUid] }, '00081155': { vr: 'UI', Value: [existing.sopInstanceUid] } }] };
    const derived = Buffer.from(d.write());
    const before = await db.studyIdentity.count({ where: { poolId: pool.id } });
    const res = await stow(tokens.owner, [{ body: derived }]);
    expect(res.status, res.text).toBe(200);
    const [item] = seqItems(res.json, '00081199');
    expect(v(item, '00081155')).toBe(newSop);
    expect(item['00081196']).toBeUndefined();
    const row = await db.instance.findUniqueOrThrow({ where: { poolId_sopInstanceUid: { poolId: pool.id, sopInstanceUid: newSop } }, include: { series: true } });
    expect(row.series.studyId).toBe(study.id);
    expect(row.series.seriesInstanceUid).toBe(newSeries);
    const ds = naturalize(readDicom(await readFile(row.path)));
    expect(ds.PatientID).toBe(study.patientId);
    expect(ds.PatientName).toEqual([{ Alphabetic: study.patientName }]);
    expect(ds.StudyDate).toBe(study.studyDate); // not shifted a second time
    expect((ds.ReferencedImageSequence as { ReferencedSOPInstanceUID: string }[])[0].ReferencedSOPInstanceUID).toBe(existing.sopInstanceUid);
    // The identity map gains no research-UID-to-itself row.
    expect(await db.studyIdentity.count({ where: { poolId: pool.id } })).toBe(before);
  });

  it('treats an object with a pool study UID but another PatientID as new data (remapped)', async () => {
    const study = await db.study.findFirstOrThrow({ where: { poolId: pool.id } });
    const other = corpus.instances.find((i) => i.patientId === corpus.patients[1].patientId)!;
    const d = readDicom(other.buffer);
    d.dict['0020000D'] = { vr: 'UI', Value: [study.studyInstanceUid] };
    const res = await stow(tokens.owner, [{ body: Buffer.from(d.write()) }]);
    expect(res.status, res.text).toBe(202);
    const [item] = seqItems(res.json, '00081199');
    expect(v(item, '00081155')).toBe(remapUid(other.sopInstanceUid, pool.secret));
    expect(String(v(item, '00081190'))).toContain(`/studies/${remapUid(study.studyInstanceUid, pool.secret)}/`);
  });

  it('reports unreadable parts in FailedSOPSequence (202 with others stored, 409 when none)', async () => {
    const good = corpus.instances[5];
    const mixed = await stow(tokens.owner, [{ body: Buffer.from('not dicom at all') }, { body: good.buffer }]);
    expect(mixed.status, mixed.text).toBe(202);
    expect(seqItems(mixed.json, '00081198').map((i) => v(i, '00081197'))).toEqual([0xc000]);
    expect(seqItems(mixed.json, '00081199')).toHaveLength(1);
    const none = await stow(tokens.owner, [{ body: Buffer.alloc(300) }, { body: good.buffer, type: 'application/pdf' }]);
    expect(none.status).toBe(409);
    expect(seqItems(none.json, '00081198')).toHaveLength(2);
    expect(none.json?.['00081199']).toBeUndefined();
  });

  it('refuses bad requests: 400 malformed multipart, 415 other media types, 413 too large', async () => {
    const good = corpus.instances[0].buffer;
    const m = multipart([{ body: good }]);
    const truncated = m.bytes.subarray(0, m.bytes.length - 20);
    const post = (body: BodyInit, ct: string) => dw('POST', `/dicomweb/${pool.id}/studies`, { token: tokens.owner, headers: { 'content-type': ct }, body });
    expect((await post(new Uint8Array(truncated), m.contentType)).status).toBe(400);
    expect((await post(new Uint8Array(m.bytes), 'multipart/related; type="application/dicom"')).status).toBe(400);
    expect((await post(new Uint8Array(Buffer.from('--other--\r\n')), m.contentType)).status).toBe(400);
    expect((await post(new Uint8Array(good), 'application/dicom')).status).toBe(415);
    expect((await post(new Uint8Array(m.bytes), m.contentType.replace('application/dicom', 'application/dicom+json'))).status).toBe(415);
    const big = multipart([{ body: Buffer.alloc(1024 * 1024 + 10) }]);
    const tooBig = await dw('POST', `/dicomweb/${pool.id}/studies`, { token: tokens.owner, headers: { 'content-type': big.contentType }, body: big.body });
    expect(tooBig.status).toBe(413);
    // Nothing of the refused requests reached the pool or lingers in the temporary area.
    const tmp = await fs.readdir(absolute('tmp')).catch(() => []);
    expect(tmp.filter((f) => f.startsWith('stow-'))).toEqual([]);
  });

  it('lets only the owner store: coordinators, researchers, admins and pool tokens 403, non-members 404', async () => {
    const body = [{ body: corpus.instances[1].buffer }];
    const count = await db.instance.count({ where: { poolId: pool.id } });
    expect((await stow(tokens.researcher, body)).status).toBe(403);
    expect((await stow(tokens.coordinator, body)).status).toBe(403);
    expect((await stow(tokens.admin, body)).status).toBe(403);
    expect((await stow(tokens.coordinatorScoped, body)).status).toBe(403);
    expect((await stow(tokens.ownerScoped, body)).status).toBe(403);
    const outsider = await stow(tokens.outsider, body);
    expect(outsider.status).toBe(404);
    expect(outsider.text).not.toContain(pool.name);
    const anonymous = await dw('POST', `/dicomweb/${pool.id}/studies`, { headers: { 'content-type': multipart(body).contentType }, body: multipart(body).body });
    expect(anonymous.status).toBe(401);
    expect(await db.instance.count({ where: { poolId: pool.id } })).toBe(count);
  });
});
