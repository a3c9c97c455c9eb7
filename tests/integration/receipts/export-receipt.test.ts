/**
 * Export receipts end to end: built from Export/ExportInstance rows (made here, not by the export
 * job), downloaded through the API by pool members only, and checked by `tributary receipt verify`
 * (a child process without any Tributary configuration) against a folder and against Orthanc's
 * DICOMweb with basic auth.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { installationPublicKey } from '@/lib/receipts';
import { issueExportReceipt } from '@/lib/receipts/export';
import { keyIdOf, signDocument, type ReceiptDocument } from '@/lib/receipts/format';
import { generateCorpus, type SyntheticInstance } from '@/lib/synthetic';
import { call } from '../../helpers/api';
import { makePool, makeUser, suffix } from '../../helpers/fixtures';
import { startOrthanc, type OrthancHandle } from '../../helpers/orthanc';

const BIN = path.resolve(import.meta.dirname, '..', '..', '..', 'bin', 'tributary.mjs');
const webAuth = { username: 'dest-user', password: 'dest-pass-1' };

/** The CLI with no Tributary configuration at all: verification must not need the installation. */
function verifyCli(args: string[], input = '') {
  const bare = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['TRIBUTARY_MODE', 'TRIBUTARY_SECRET', 'DATABASE_URL', 'REDIS_URL'].includes(k))) as NodeJS.ProcessEnv;
  const r = spawnSync(process.execPath, [BIN, 'receipt', 'verify', ...args], { input, encoding: 'utf8', env: bare, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

let tmp: string;
let orthanc: OrthancHandle;
let files: SyntheticInstance[];
let poolId: string;
let otherPoolId: string;
let memberToken: string;
let outsiderToken: string;
let exportId: string;
let receiptFile: string;
let keyFile: string;

async function makeExport(opts: { poolId: string; destinationId: string; state?: 'COMPLETED' | 'RUNNING'; instances: { inst: SyntheticInstance; instanceId?: string; sha256?: string | null; state?: string }[] }) {
  const exporter = await db.exporter.create({ data: { poolId: opts.poolId, name: `exp ${suffix()}`, destinationId: opts.destinationId } });
  const exp = await db.export.create({
    data: {
      poolId: opts.poolId,
      exporterId: exporter.id,
      scope: { kind: 'pool' },
      state: opts.state ?? 'COMPLETED',
      total: opts.instances.length,
      sent: opts.instances.filter((i) => (i.state ?? 'SENT') === 'SENT').length,
      failed: opts.instances.filter((i) => i.state === 'FAILED').length,
      attempts: 1,
      startedAt: new Date(),
      finishedAt: opts.state === 'RUNNING' ? null : new Date(),
    },
  });
  for (const i of opts.instances) {
    const sent = (i.state ?? 'SENT') === 'SENT';
    await db.exportInstance.create({
      data: {
        exportId: exp.id,
        instanceId: i.instanceId ?? null,
        studyInstanceUid: i.inst.studyInstanceUid,
        seriesInstanceUid: i.inst.seriesInstanceUid,
        sopInstanceUid: i.inst.sopInstanceUid,
        sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
        state: i.state ?? 'SENT',
        reason: sent ? null : 'refused by the destination (0xA700)',
        transferSyntaxSent: sent ? '1.2.840.10008.1.2.1' : null,
        sha256: i.sha256 === undefined ? (sent ? sha(i.inst.buffer) : null) : i.sha256,
        sentAt: sent ? new Date() : null,
      },
    });
  }
  return exp;
}

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-receipts-'));
  files = generateCorpus({ seed: 77, patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 4, rows: 16, columns: 16 }).instances;
  orthanc = await startOrthanc({ aet: 'DEST_WEB', dicomWeb: true, basicAuth: webAuth });

  const member = await makeUser('RESEARCHER');
  const outsider = await makeUser('RESEARCHER');
  const pool = await makePool({ members: [{ userId: member.id, role: 'RESEARCHER' }] });
  const other = await makePool({ members: [{ userId: outsider.id, role: 'OWNER' }] });
  poolId = pool.id;
  otherPoolId = other.id;
  memberToken = (await createApiToken({ userId: member.id, name: 'receipts' })).token;
  outsiderToken = (await createApiToken({ userId: outsider.id, name: 'receipts' })).token;

  // Pool rows for the first three instances (rule versions 1 and 2); the fourth failed to send.
  const study = await db.study.create({ data: { poolId, studyInstanceUid: files[0].studyInstanceUid, patientId: 'RID-1' } });
  const series = await db.series.create({ data: { poolId, studyId: study.id, seriesInstanceUid: files[0].seriesInstanceUid } });
  const instanceIds: string[] = [];
  for (const [n, f] of files.entries()) {
    const row = await db.instance.create({
      data: { poolId, seriesId: series.id, sopInstanceUid: f.sopInstanceUid, sopClassUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxUid: '1.2.840.10008.1.2.1', path: `x/${n}.dcm`, size: f.buffer.length, ruleVersion: n === 0 ? 1 : 2 },
    });
    instanceIds.push(row.id);
  }
  const dest = await db.destination.create({
    data: {
      name: `web ${suffix()}`,
      type: 'DICOMWEB',
      webStowUrl: `http://${webAuth.username}:${webAuth.password}@127.0.0.1:${orthanc.httpPort}/dicom-web/studies?access_token=SECRET-TOKEN#frag`,
      webAuthType: 'BASIC',
      webUsername: webAuth.username,
    },
  });
  const exp = await makeExport({
    poolId,
    destinationId: dest.id,
    instances: [
      { inst: files[0], instanceId: instanceIds[0] },
      { inst: files[1], instanceId: instanceIds[1] },
      { inst: files[2], instanceId: instanceIds[2] },
      { inst: files[3], instanceId: instanceIds[3], state: 'FAILED' },
    ],
  });
  exportId = exp.id;
  // "The export": the three sent files at the destination.
  await orthanc.uploadFiles(files.slice(0, 3).map((f) => f.buffer));

  const key = await installationPublicKey();
  keyFile = path.join(tmp, 'installation.pem');
  await fs.writeFile(keyFile, key.publicKeyPem);
}, 180_000);

afterAll(async () => {
  await orthanc?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  await db.$disconnect();
});

describe('export receipt contents', () => {
  it('lists destination, pool, rule versions and per-instance hashes, without credentials', async () => {
    const { document: doc } = await issueExportReceipt(exportId);
    const body = doc.body as Record<string, any>;
    expect(doc.kind).toBe('export');
    expect(body.pool).toEqual({ id: poolId, name: expect.stringMatching(/^Pool /) });
    expect(body.destination).toMatchObject({ type: 'DICOMWEB', stowUrl: `http://127.0.0.1:${orthanc.httpPort}/dicom-web/studies` });
    expect(JSON.stringify(doc)).not.toContain(webAuth.password);
    expect(JSON.stringify(doc)).not.toContain('SECRET-TOKEN');
    expect(body.ruleVersions).toEqual([1, 2]);
    expect(body.export).toMatchObject({ id: exportId, attempt: 1, state: 'COMPLETED', counts: { total: 4, sent: 3, failed: 1 } });
    expect(body.instances).toHaveLength(4);
    const first = body.instances.find((i: { sopInstanceUid: string }) => i.sopInstanceUid === files[0].sopInstanceUid);
    expect(first).toMatchObject({ studyInstanceUid: files[0].studyInstanceUid, seriesInstanceUid: files[0].seriesInstanceUid, state: 'SENT', transferSyntax: '1.2.840.10008.1.2.1', sha256: sha(files[0].buffer), ruleVersion: 1, commitment: null });
    const failed = body.instances.find((i: { sopInstanceUid: string }) => i.sopInstanceUid === files[3].sopInstanceUid);
    expect(failed).toMatchObject({ state: 'FAILED', sha256: null });
  });

  it('is issued once per attempt; a retry gets its own receipt and the download gives the latest', async () => {
    const a = await issueExportReceipt(exportId);
    const b = await issueExportReceipt(exportId);
    expect(b.id).toBe(a.id);
    expect(b.document.signature).toBe(a.document.signature);
    await db.export.update({ where: { id: exportId }, data: { attempts: 2 } });
    const c = await issueExportReceipt(exportId);
    expect(c.id).not.toBe(a.id);
    expect((c.document.body.export as { attempt: number }).attempt).toBe(2);
    const res = await call(api.getExportReceipt, { id: poolId, exportId }, { token: memberToken });
    expect(res.status).toBe(200);
    expect((res.json as ReceiptDocument).signature).toBe(c.document.signature);
    expect(res.headers.get('content-disposition')).toContain(`receipt-export-${exportId}-2.json`);
    receiptFile = path.join(tmp, 'receipt.json');
    await fs.writeFile(receiptFile, res.text);
  });
});

describe('API access', () => {
  it('refuses a non-member, and an export named under another pool', async () => {
    // A pool the caller is not a member of does not exist for them (lib/api/authorize.ts).
    const denied = await call(api.getExportReceipt, { id: poolId, exportId }, { token: outsiderToken });
    expect(denied.status).toBe(404);
    expect(denied.text).not.toContain('signature');
    // The outsider's own pool in the path does not reach an export of another pool.
    expect((await call(api.getExportReceipt, { id: otherPoolId, exportId }, { token: outsiderToken })).status).toBe(404);
    expect((await call(api.getExportReceipt, { id: poolId, exportId })).status).toBe(401);
  });

  it('answers 409 while an export runs, and issues the receipt on download once it finished', async () => {
    const dest = await db.destination.findFirstOrThrow({ where: { type: 'DICOMWEB' } });
    const running = await makeExport({ poolId, destinationId: dest.id, state: 'RUNNING', instances: [{ inst: files[0] }] });
    const r = await call(api.getExportReceipt, { id: poolId, exportId: running.id }, { token: memberToken });
    expect(r.status).toBe(409);
    await db.export.update({ where: { id: running.id }, data: { state: 'COMPLETED', finishedAt: new Date() } });
    const ok = await call(api.getExportReceipt, { id: poolId, exportId: running.id }, { token: memberToken });
    expect(ok.status).toBe(200);
    expect(await db.receipt.count({ where: { exportId: running.id } })).toBe(1);
  });

  it('gives the installation public key to any signed-in user, and to no one else', async () => {
    const key = await installationPublicKey();
    const r = await call(api.getReceiptPublicKey, {}, { token: outsiderToken });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ keyId: key.keyId, publicKeyPem: key.publicKeyPem, fingerprint: key.fingerprint });
    expect((await call(api.getReceiptPublicKey, {})).status).toBe(401);
  });
});

describe('tributary receipt verify', () => {
  let folder: string;
  beforeAll(async () => {
    folder = path.join(tmp, 'received');
    await fs.mkdir(path.join(folder, 'sub'), { recursive: true });
    // Names need not end in .dcm; a non-DICOM file is ignored.
    await fs.writeFile(path.join(folder, 'a.dcm'), files[0].buffer);
    await fs.writeFile(path.join(folder, 'sub', 'b'), files[1].buffer);
    await fs.writeFile(path.join(folder, 'sub', 'c.dcm'), files[2].buffer);
    await fs.writeFile(path.join(folder, 'README.txt'), 'notes');
  });

  it('accepts the receipt and a folder that matches, and says the key is not pinned without --key', () => {
    const r = verifyCli([receiptFile, '--folder', folder]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/signature valid for the key in the receipt, key id [0-9a-f]{16}/);
    expect(r.out).toContain('NOT PINNED');
    expect(r.out).toMatch(/3 matched, 0 missing, 0 changed, 0 extra, 1 non-DICOM/);
  });

  it('with --key states who signed it', async () => {
    const r = verifyCli([receiptFile, '--key', keyFile, '--folder', folder]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`signed by the pinned key ${(await installationPublicKey()).keyId}`);
    expect(r.out).not.toContain('NOT PINNED');
  });

  it('reports a changed file (one byte), a missing one and an extra one, exit 1', async () => {
    const changed = Buffer.from(files[2].buffer);
    changed[changed.length - 1] ^= 0xff;
    await fs.writeFile(path.join(folder, 'sub', 'c.dcm'), changed);
    let r = verifyCli([receiptFile, '--folder', folder, '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.ok).toBe(false);
    expect(j.signature.ok).toBe(true);
    expect(j.data.changed).toEqual([expect.objectContaining({ sopInstanceUid: files[2].sopInstanceUid })]);
    expect(j.data.matched).toBe(2);

    await fs.rm(path.join(folder, 'a.dcm'));
    // The instance that failed to send, present anyway: extra.
    await fs.writeFile(path.join(folder, 'd.dcm'), files[3].buffer);
    r = verifyCli([receiptFile, '--folder', folder]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`missing ${files[0].sopInstanceUid}`);
    expect(r.out).toContain(`changed ${files[2].sopInstanceUid}`);
    expect(r.out).toMatch(new RegExp(`extra d\\.dcm \\(${files[3].sopInstanceUid.replace(/\./g, '\\.')}\\): the receipt says it was not sent`));
  });

  it('rejects a receipt with one changed byte in its body, exit 1', async () => {
    const text = await fs.readFile(receiptFile, 'utf8');
    const h = sha(files[1].buffer);
    const flipped = h.slice(0, 10) + (h[10] === '0' ? '1' : '0') + h.slice(11);
    expect(text).toContain(h);
    const bad = path.join(tmp, 'tampered.json');
    await fs.writeFile(bad, text.replace(h, flipped));
    const r = verifyCli([bad]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/INVALID: signature invalid/);
  });

  it('a receipt re-signed by another key verifies only without --key', async () => {
    const doc = JSON.parse(await fs.readFile(receiptFile, 'utf8')) as ReceiptDocument;
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const { signature: _s, ...rest } = doc;
    const forged = signDocument({ ...rest, keyId: keyIdOf(pem), publicKey: pem, body: { ...doc.body, note: 'forged' } }, privateKey);
    const f = path.join(tmp, 'forged.json');
    await fs.writeFile(f, JSON.stringify(forged));
    const unpinned = verifyCli([f]);
    expect(unpinned.code).toBe(0);
    expect(unpinned.out).toContain(`key id ${keyIdOf(pem)}`);
    expect(unpinned.out).toContain('NOT PINNED');
    const pinned = verifyCli([f, '--key', keyFile]);
    expect(pinned.code).toBe(1);
    expect(pinned.out).toContain('signature valid but not signed by the pinned key');
  });

  it('usage errors exit 2', () => {
    expect(verifyCli([path.join(tmp, 'nope.json')]).code).toBe(2);
    expect(verifyCli([]).code).toBe(2);
    expect(verifyCli([receiptFile, '--no-such-option']).code).toBe(2);
    expect(verifyCli([receiptFile, '--folder', tmp, '--dicomweb', 'http://x']).code).toBe(2);
    expect(verifyCli([receiptFile, '--key', receiptFile]).code).toBe(2);
    expect(verifyCli([receiptFile, '--token', 't']).code).toBe(2);
  });

  it('checks the instances at the destination over DICOMweb (basic auth)', () => {
    const url = `${orthanc.httpUrl}/dicom-web`;
    const r = verifyCli([receiptFile, '--key', keyFile, '--dicomweb', url, '--user', `${webAuth.username}:${webAuth.password}`]);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/3 matched, 0 missing, 0 changed, 0 extra/);
    expect(r.code).toBe(0);
    // The password from stdin, not the command line.
    const fromStdin = verifyCli([receiptFile, '--dicomweb', url, '--user', webAuth.username], `${webAuth.password}\n`);
    expect(fromStdin.out).toMatch(/3 matched, 0 missing/);
    expect(fromStdin.code).toBe(0);
    const denied = verifyCli([receiptFile, '--dicomweb', url, '--user', `${webAuth.username}:wrong`]);
    expect(denied.code).toBe(1);
    expect(denied.out).toMatch(/0 matched, 3 missing/);
    expect(denied.out).toContain('HTTP 401');
  });

  it('reports an instance with other bytes at the destination as possibly re-encoded', async () => {
    const dest = await db.destination.findFirstOrThrow({ where: { type: 'DICOMWEB' } });
    const exp = await makeExport({ poolId, destinationId: dest.id, instances: [{ inst: files[0] }, { inst: files[1], sha256: 'ab'.repeat(32) }, { inst: files[3] }] });
    const { document } = await issueExportReceipt(exp.id);
    const f = path.join(tmp, 'second.json');
    await fs.writeFile(f, JSON.stringify(document));
    const r = verifyCli([f, '--dicomweb', `${orthanc.httpUrl}/dicom-web/`, '--user', `${webAuth.username}:${webAuth.password}`]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/1 matched, 1 missing, 1 changed/);
    expect(r.out).toContain(`changed ${files[1].sopInstanceUid}: differs (the destination may have re-encoded it)`);
    expect(r.out).toContain(`missing ${files[3].sopInstanceUid}: HTTP 404`);
  });
});
