/**
 * The C-STORE exporter (lib/exports/senders/cstore.ts) against real peers:
 * - Orthanc: instances stored, then Storage Commitment: Orthanc answers with an N-EVENT-REPORT on
 *   a new association to our SCP (real worker hooks), routed back by Transaction UID → COMMITTED;
 *   an instance Orthanc does not hold → FAILED. A report from a device we did not ask, or for a
 *   transaction we never issued, is refused.
 * - DCMTK storescp: the dataset arrives byte for byte and the receipt's SHA-256 is of those bytes;
 *   a storescp that takes Implicit VR LE only gets the Explicit LE files converted (values intact);
 *   a SOP class storescp does not know → FAILED "destination does not accept …", the rest sent.
 * - Nothing listening → every instance retryable with the SCU's reason; cancel mid-batch → only
 *   what storescp acknowledged is SENT, the rest retryable, and all SENT ones are on its disk.
 * - An export job with storage commitment ends with every instance SENT and COMMITTED.
 * - Who may call our SCP to report: only a registered destination device, and only for that.
 * - DICOM TLS to Orthanc; a device pinned to the wrong CA → retryable TLS failures.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { readPart10Header, readInstanceIds } from '@/lib/dicom/part10';
import { startScp, type RunningScp } from '@/lib/dicom/scp';
import { TransferSyntax } from '@/lib/dicom/uids';
import { deliverCommitmentReport, newTransactionUid } from '@/lib/exports/commitment';
import type { OutgoingInstance } from '@/lib/exports/sender';
import { cstoreSender } from '@/lib/exports/senders/cstore';
import { scpHooks } from '@/lib/receive/scp-hooks';
import { generateCorpus } from '@/lib/synthetic';
import { createExport } from '@/lib/exports/request';
import { runExport } from '@/lib/exports/run-export';
import { actorOf, makePool, makeUser, suffix } from '../../helpers/fixtures';
import { seedStudies } from './helpers';
import { freePort, startOrthanc, startStorescp, type OrthancHandle } from '../../helpers/orthanc';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const PRIVATE_CLASS = '1.3.6.1.4.1.99999.1.2.3.4'; // same length as the CT class UID
let dir: string;
let scp: RunningScp;
let orthanc: OrthancHandle;
let pool: Awaited<ReturnType<typeof makePool>>;
let researcher: Awaited<ReturnType<typeof makeUser>>;

async function writeInstances(seed: number, n: number, rows = 16): Promise<OutgoingInstance[]> {
  const corpus = generateCorpus({ seed, patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: n, rows, columns: rows });
  const out: OutgoingInstance[] = [];
  for (const [i, inst] of corpus.instances.entries()) {
    const file = path.join(dir, `${seed}-${i}.dcm`);
    await fs.writeFile(file, inst.buffer);
    const ids = readInstanceIds(inst.buffer);
    out.push({
      id: `${seed}-${i}`,
      studyInstanceUid: inst.studyInstanceUid,
      seriesInstanceUid: inst.seriesInstanceUid,
      sopInstanceUid: inst.sopInstanceUid,
      sopClassUid: ids.sopClassUid!,
      transferSyntaxUid: readPart10Header(inst.buffer).transferSyntaxUid,
      file,
    });
  }
  return out;
}

/** Rewrites a file's SOP class (meta and dataset) to a private one of the same length. */
async function makePrivateClass(inst: OutgoingInstance): Promise<OutgoingInstance> {
  const buf = await fs.readFile(inst.file);
  const from = Buffer.from(inst.sopClassUid, 'latin1');
  expect(from.length).toBe(PRIVATE_CLASS.length);
  let at = buf.indexOf(from);
  let n = 0;
  while (at >= 0) {
    buf.write(PRIVATE_CLASS, at, 'latin1');
    n++;
    at = buf.indexOf(from, at + 1);
  }
  expect(n).toBe(2);
  const file = inst.file.replace(/\.dcm$/, '-private.dcm');
  await fs.writeFile(file, buf);
  return { ...inst, id: `${inst.id}-private`, sopClassUid: PRIVATE_CLASS, file };
}

async function dicomDestination(aeTitle: string, port: number, storageCommitment = false) {
  const s = suffix();
  const device = await db.device.create({ data: { name: `Dest ${s}`, aeTitle, host: '127.0.0.1', port } });
  const destination = await db.destination.create({ data: { name: `DICOM ${s}`, type: 'DICOM', deviceId: device.id, storageCommitment, maxAssociations: 4 }, include: { device: true } });
  return { device, destination };
}

async function exporterFor(destinationId: string, extra: { instancesPerRequest?: number; concurrency?: number; transferSyntaxes?: string[]; storageCommitment?: boolean } = {}) {
  return db.exporter.create({ data: { poolId: pool.id, destinationId, name: `Exporter ${suffix()}`, ...extra } });
}

/** storescp's received file for a SOP instance (named <modality>.<sop uid>). */
async function receivedFile(storeDir: string, sopInstanceUid: string): Promise<string | undefined> {
  const names = await fs.readdir(storeDir);
  const name = names.find((n) => n.endsWith(`.${sopInstanceUid}`));
  return name ? path.join(storeDir, name) : undefined;
}

const datasetOf = (buf: Buffer) => buf.subarray(readPart10Header(buf).datasetOffset);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-cstore-'));
  researcher = await makeUser('RESEARCHER');
  pool = await makePool({ aeTitle: `EXP_${suffix()}`, members: [{ userId: researcher.id, role: 'RESEARCHER' }] });
  scp = await startScp({ port: await freePort(), host: '127.0.0.1', hooks: scpHooks });
  orthanc = await startOrthanc({ aet: `ORTH_${suffix()}`, modalities: { tributary: [pool.aeTitle, '127.0.0.1', scp.port], noreport: ['NOREPORT', '127.0.0.1', await freePort()] } });
});

afterAll(async () => {
  await orthanc?.stop();
  await scp?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('C-STORE exporter → Orthanc with Storage Commitment', () => {
  it('sends every instance over several associations, then gets them committed through our SCP', async () => {
    const instances = await writeInstances(1201, 5);
    const { destination } = await dicomDestination(orthanc.aet, orthanc.dicomPort, true);
    const exporter = await exporterFor(destination.id, { instancesPerRequest: 2, concurrency: 2, storageCommitment: true });
    const sender = cstoreSender(destination, exporter, { commitTimeoutMs: 30_000 });
    const outcomes = await sender.send(instances, new AbortController().signal);
    expect(outcomes).toHaveLength(5);
    for (const o of outcomes) {
      expect(o).toMatchObject({ state: 'SENT', transferSyntaxSent: TransferSyntax.ExplicitVRLittleEndian });
      const inst = instances.find((i) => i.id === o.id)!;
      expect(o.sha256).toBe(sha(datasetOf(await fs.readFile(inst.file))));
    }
    expect(await orthanc.countInstances()).toBe(5);

    // One SOP instance Orthanc never received: it must come back FAILED, the others COMMITTED.
    const stranger = { sopClassUid: CT, sopInstanceUid: `${instances[0].sopInstanceUid}.999` };
    const result = await sender.commit!([...instances.map((i) => ({ sopClassUid: i.sopClassUid, sopInstanceUid: i.sopInstanceUid })), stranger], new AbortController().signal);
    for (const i of instances) expect(result.get(i.sopInstanceUid)).toBe('COMMITTED');
    expect(result.get(stranger.sopInstanceUid)).toBe('FAILED');
    await sender.close();
  });

  it('an export job with storage commitment: every instance SENT and COMMITTED', async () => {
    const seeded = await seedStudies(pool.id, 1209, { instancesPerSeries: 3 });
    const { destination } = await dicomDestination(orthanc.aet, orthanc.dicomPort, true);
    const exporter = await exporterFor(destination.id, { instancesPerRequest: 2, concurrency: 1, storageCommitment: true });
    const ex = await createExport(actorOf(researcher), pool.id, { exporterId: exporter.id, studyIds: seeded.studyIds, wholePool: false, resend: false });
    await runExport(ex.id, ex.attempts, { isFinalAttempt: true });
    const done = await db.export.findUniqueOrThrow({ where: { id: ex.id } });
    expect(done.state).toBe('COMPLETED');
    const rows = await db.exportInstance.findMany({ where: { exportId: ex.id } });
    expect(rows.length).toBe(3);
    for (const r of rows) expect(r).toMatchObject({ state: 'SENT', commitment: 'COMMITTED', transferSyntaxSent: TransferSyntax.ExplicitVRLittleEndian });

    // Exported again: the device already holds the same dataset bytes (the delivery's hash is of
    // the dataset, as C-STORE sends it), so nothing is sent; "resend" sends it all again.
    const again = await createExport(actorOf(researcher), pool.id, { exporterId: exporter.id, studyIds: seeded.studyIds, wholePool: false, resend: false });
    await runExport(again.id, again.attempts, { isFinalAttempt: true });
    expect(await db.export.findUniqueOrThrow({ where: { id: again.id } })).toMatchObject({ state: 'COMPLETED', skipped: 3, sent: 0 });
    const resend = await createExport(actorOf(researcher), pool.id, { exporterId: exporter.id, studyIds: seeded.studyIds, wholePool: false, resend: true });
    await runExport(resend.id, resend.attempts, { isFinalAttempt: true });
    expect(await db.export.findUniqueOrThrow({ where: { id: resend.id } })).toMatchObject({ state: 'COMPLETED', skipped: 0, sent: 3 });
  });

  it('no answer within the timeout → FAILED', async () => {
    const [inst] = await writeInstances(1202, 1);
    const { destination } = await dicomDestination(orthanc.aet, orthanc.dicomPort, true);
    const exporter = await exporterFor(destination.id, { storageCommitment: true });
    // Orthanc knows this AE title, but at a port where nothing listens: its report never arrives.
    const sender = cstoreSender(destination, exporter, { callingAe: 'NOREPORT', commitTimeoutMs: 3_000 });
    expect((await sender.send([inst], new AbortController().signal))[0].state).toBe('SENT');
    const t0 = Date.now();
    const result = await sender.commit!([{ sopClassUid: inst.sopClassUid, sopInstanceUid: inst.sopInstanceUid }], new AbortController().signal);
    expect(result.get(inst.sopInstanceUid)).toBe('FAILED');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_500);
  });

  it('a device that refuses the storage commitment request → FAILED, not an exception', async () => {
    const [inst] = await writeInstances(1208, 1);
    const { destination } = await dicomDestination(orthanc.aet, orthanc.dicomPort, true);
    // Orthanc aborts an N-ACTION from an AE title it does not know.
    const sender = cstoreSender(destination, await exporterFor(destination.id, { storageCommitment: true }), { callingAe: 'STRANGER', commitTimeoutMs: 3_000 });
    expect((await sender.send([inst], new AbortController().signal))[0].state).toBe('SENT');
    const result = await sender.commit!([{ sopClassUid: inst.sopClassUid, sopInstanceUid: inst.sopInstanceUid }], new AbortController().signal);
    expect(result.get(inst.sopInstanceUid)).toBe('FAILED');
  });

  it('a destination device calling our SCP gets Storage Commitment only, never a storage context; others are rejected', async () => {
    const { dimse } = await import('@/lib/dicom/dimse');
    const { runAssociation } = await import('@/lib/dicom/scu');
    const { STORAGE_COMMITMENT_SOP_CLASS } = await import('@/lib/exports/commitment');
    const ae = `DST_${suffix()}`;
    const contexts: Array<[string, string]> = [
      [CT, TransferSyntax.ExplicitVRLittleEndian],
      [STORAGE_COMMITMENT_SOP_CLASS, TransferSyntax.ExplicitVRLittleEndian],
    ];
    const negotiate = async (callingAe: string) => {
      let results: Record<string, number> = {};
      await runAssociation({ aeTitle: pool.aeTitle, host: '127.0.0.1', port: scp.port }, callingAe, [new dimse.requests.CEchoRequest() as never], {
        defaultTimeoutMs: 10_000,
        extraContexts: contexts,
        checkAccepted: (assoc) => {
          results = Object.fromEntries(assoc.getPresentationContexts().map(({ id }) => [assoc.getPresentationContext(id).getAbstractSyntaxUid(), assoc.getPresentationContext(id).getResult()]));
          return undefined;
        },
      });
      return results;
    };
    // Not registered at all: rejected.
    await expect(negotiate(ae)).rejects.toMatchObject({ reason: 'association-rejected' });
    // Registered, but no destination uses it: rejected too.
    const device = await db.device.create({ data: { name: `Dev ${suffix()}`, aeTitle: ae, host: '127.0.0.1', port: 104 } });
    await expect(negotiate(ae)).rejects.toMatchObject({ reason: 'association-rejected' });
    // The device of a DICOM destination: accepted, Storage Commitment only.
    await db.destination.create({ data: { name: `D ${suffix()}`, type: 'DICOM', deviceId: device.id } });
    const accepted = await negotiate(ae);
    expect(accepted[STORAGE_COMMITMENT_SOP_CLASS]).toBe(0);
    expect(accepted[CT]).not.toBe(0);
  });

  it('refuses a report for a transaction we never issued, or from a device we did not ask', async () => {
    const { device } = await dicomDestination(`OTHER_${suffix()}`, 104);
    const unknown = await deliverCommitmentReport({ transactionUid: newTransactionUid(), eventTypeId: 1, committed: ['1.2.3'], failed: [] }, { callingAe: 'X', senderDeviceIds: [device.id] });
    expect(unknown).not.toBe(0);
    // A pending transaction asked of another device: the report is refused and not delivered.
    const { redis, key } = await import('@/lib/redis');
    const tx = newTransactionUid();
    await redis().set(key('commit', tx), JSON.stringify({ deviceId: 'someone-else' }), 'PX', 10_000);
    const wrong = await deliverCommitmentReport({ transactionUid: tx, eventTypeId: 1, committed: ['1.2.3'], failed: [] }, { callingAe: 'X', senderDeviceIds: [device.id] });
    expect(wrong).not.toBe(0);
    expect(await redis().llen(key('commit', tx, 'report'))).toBe(0);
    await redis().del(key('commit', tx));
  });
});

describe('C-STORE exporter → DCMTK storescp', () => {
  it('delivers the stored dataset byte for byte, hashed as sent', async () => {
    const instances = await writeInstances(1203, 3);
    // --bit-preserving: storescp writes the dataset exactly as it came off the wire.
    const store = await startStorescp({ aet: 'STORESCP', extraArgs: ['--bit-preserving'] });
    try {
      const { destination } = await dicomDestination(store.aet, store.port);
      const sender = cstoreSender(destination, await exporterFor(destination.id, { instancesPerRequest: 3 }), { callingAe: pool.aeTitle });
      const outcomes = await sender.send(instances, new AbortController().signal);
      for (const inst of instances) {
        const o = outcomes.find((x) => x.id === inst.id)!;
        expect(o.state).toBe('SENT');
        const got = await receivedFile(store.dir, inst.sopInstanceUid);
        expect(got, 'file at storescp').toBeDefined();
        const received = datasetOf(await fs.readFile(got!));
        expect(received.equals(datasetOf(await fs.readFile(inst.file)))).toBe(true);
        expect(o.sha256).toBe(sha(received));
      }
    } finally {
      await store.stop();
    }
  });

  it('converts Explicit VR LE to Implicit VR LE for a destination that takes only that', async () => {
    const instances = await writeInstances(1204, 2);
    const store = await startStorescp({ aet: 'IMPLICIT', extraArgs: ['+xi'] });
    try {
      const { destination } = await dicomDestination(store.aet, store.port);
      const sender = cstoreSender(destination, await exporterFor(destination.id, { instancesPerRequest: 2 }), { callingAe: pool.aeTitle });
      const outcomes = await sender.send(instances, new AbortController().signal);
      for (const inst of instances) {
        const o = outcomes.find((x) => x.id === inst.id)!;
        expect(o).toMatchObject({ state: 'SENT', transferSyntaxSent: TransferSyntax.ImplicitVRLittleEndian });
        const got = await fs.readFile((await receivedFile(store.dir, inst.sopInstanceUid))!);
        expect(readPart10Header(got).transferSyntaxUid).toBe(TransferSyntax.ImplicitVRLittleEndian);
        expect(o.sha256).toBe(sha(datasetOf(got)));
        // The values survive: same UIDs read back, and the pixel data's last bytes are identical.
        expect(readInstanceIds(got)).toMatchObject({ sopInstanceUid: inst.sopInstanceUid, sopClassUid: inst.sopClassUid });
        const original = await fs.readFile(inst.file);
        expect(got.subarray(-256).equals(original.subarray(-256))).toBe(true);
      }
    } finally {
      await store.stop();
    }
  });

  it('decompresses an RLE instance to Explicit VR LE when the exporter lists only that (shared codecs of lib/exports/transcode.ts)', async () => {
    const [plain] = await writeInstances(1210, 1);
    const rleFile = `${plain.file}.rle.dcm`;
    execFileSync('dcmcrle', [plain.file, rleFile], { stdio: 'ignore' });
    const rle: OutgoingInstance = { ...plain, id: 'rle', file: rleFile, transferSyntaxUid: readPart10Header(rleFile).transferSyntaxUid };
    expect(rle.transferSyntaxUid).toBe('1.2.840.10008.1.2.5');
    const store = await startStorescp({ aet: 'PLAINONLY', extraArgs: ['--bit-preserving'] });
    try {
      const { destination } = await dicomDestination(store.aet, store.port);
      const exporter = await exporterFor(destination.id, { transferSyntaxes: [TransferSyntax.ExplicitVRLittleEndian] });
      const [o] = await cstoreSender(destination, exporter, { callingAe: pool.aeTitle }).send([rle], new AbortController().signal);
      expect(o).toMatchObject({ state: 'SENT', transferSyntaxSent: TransferSyntax.ExplicitVRLittleEndian });
      const got = await fs.readFile((await receivedFile(store.dir, rle.sopInstanceUid))!);
      expect(readPart10Header(got).transferSyntaxUid).toBe(TransferSyntax.ExplicitVRLittleEndian);
      expect(o.sha256).toBe(sha(datasetOf(got)));
      // The pixels are the uncompressed original's.
      expect(got.subarray(-256).equals((await fs.readFile(plain.file)).subarray(-256))).toBe(true);
      // A list that names only a compressed syntax the instance is not in: refused with the reason, nothing sent.
      const jpegOnly = await exporterFor(destination.id, { transferSyntaxes: ['1.2.840.10008.1.2.4.50'] });
      const [refused] = await cstoreSender(destination, jpegOnly, { callingAe: pool.aeTitle }).send([{ ...rle, id: 'rle2' }], new AbortController().signal);
      expect(refused).toMatchObject({ state: 'FAILED' });
      expect(refused.reason).toMatch(/do not list|cannot be converted/);
    } finally {
      await store.stop();
    }
  });

  it('a SOP class the destination refuses fails with the reason, the others are sent', async () => {
    const instances = await writeInstances(1205, 3);
    const odd = await makePrivateClass(instances[1]);
    const store = await startStorescp({ aet: 'PICKY' });
    try {
      const { destination } = await dicomDestination(store.aet, store.port);
      const sender = cstoreSender(destination, await exporterFor(destination.id, { instancesPerRequest: 5 }), { callingAe: pool.aeTitle });
      const outcomes = await sender.send([instances[0], odd, instances[2]], new AbortController().signal);
      const byId = new Map(outcomes.map((o) => [o.id, o]));
      expect(byId.get(instances[0].id)?.state).toBe('SENT');
      expect(byId.get(instances[2].id)?.state).toBe('SENT');
      expect(byId.get(odd.id)).toMatchObject({ state: 'FAILED', reason: `destination does not accept ${PRIVATE_CLASS}` });
      expect(byId.get(odd.id)?.retryable).toBeFalsy();
      expect(await store.countFiles()).toBe(2);
    } finally {
      await store.stop();
    }
  });

  it('cancel mid-batch: A-ABORT, only acknowledged instances are SENT', async () => {
    const instances = await writeInstances(1206, 30, 256);
    const store = await startStorescp({ aet: 'SLOW' });
    try {
      const { destination } = await dicomDestination(store.aet, store.port);
      const sender = cstoreSender(destination, await exporterFor(destination.id, { instancesPerRequest: 5, concurrency: 1 }), { callingAe: pool.aeTitle });
      const ac = new AbortController();
      const watcher = setInterval(() => {
        void store.countFiles().then((n) => {
          if (n >= 2) ac.abort();
        });
      }, 5);
      const outcomes = await sender.send(instances, ac.signal);
      clearInterval(watcher);
      expect(outcomes).toHaveLength(30);
      const sent = outcomes.filter((o) => o.state === 'SENT');
      const rest = outcomes.filter((o) => o.state !== 'SENT');
      expect(sent.length).toBeGreaterThanOrEqual(1);
      expect(rest.length).toBeGreaterThan(0);
      for (const o of rest) expect(o).toMatchObject({ state: 'FAILED', retryable: true });
      for (const o of sent) {
        const inst = instances.find((i) => i.id === o.id)!;
        expect(await receivedFile(store.dir, inst.sopInstanceUid), 'a SENT instance is at the destination').toBeDefined();
      }
    } finally {
      await store.stop();
    }
  });

  it('nothing listening: every instance retryable with the reason', async () => {
    const instances = await writeInstances(1207, 3);
    const { destination } = await dicomDestination('GONE', await freePort());
    const sender = cstoreSender(destination, await exporterFor(destination.id, { instancesPerRequest: 1, concurrency: 2 }), { callingAe: pool.aeTitle });
    const outcomes = await sender.send(instances, new AbortController().signal);
    expect(outcomes).toHaveLength(3);
    for (const o of outcomes) {
      expect(o.state).toBe('FAILED');
      expect(o.retryable).toBe(true);
      expect(o.reason).toMatch(/Connection refused/);
    }
  });
});

describe('C-STORE exporter over DICOM TLS', () => {
  it('sends to an Orthanc with DicomTlsEnabled; a certificate from another CA → retryable TLS failure', async () => {
    const { createTestPki } = await import('../../helpers/certs');
    const { encryptSecret } = await import('@/lib/secrets');
    const pki = await createTestPki();
    const caA = await pki.ca('Hospital CA');
    const caB = await pki.ca('Other CA');
    const hosts = ['localhost', '127.0.0.1'];
    const orthancCert = await pki.leaf('orthanc', caA, { hosts });
    const ourCert = await pki.leaf('tributary', caA, { hosts });
    const tlsOrthanc = await startOrthanc({
      aet: `TLS_${suffix()}`,
      config: {
        DicomTlsEnabled: true,
        DicomTlsCertificate: orthancCert.certFile,
        DicomTlsPrivateKey: orthancCert.keyFile,
        DicomTlsTrustedCertificates: caA.certFile,
        DicomTlsRemoteCertificateRequired: true,
      },
    });
    try {
      const instances = await writeInstances(1210, 2);
      const { device, destination } = await dicomDestination(tlsOrthanc.aet, tlsOrthanc.dicomPort);
      const tls = { tls: true, tlsCaCertificates: caA.cert, tlsClientCertificate: ourCert.cert, tlsClientKey: encryptSecret(ourCert.key) };
      const withTls = { ...destination, device: await db.device.update({ where: { id: device.id }, data: tls }) };
      const exporter = await exporterFor(destination.id, { instancesPerRequest: 2 });
      const outcomes = await cstoreSender(withTls, exporter, { callingAe: pool.aeTitle }).send(instances, new AbortController().signal);
      for (const o of outcomes) expect(o.state).toBe('SENT');
      expect(await tlsOrthanc.countInstances()).toBe(2);

      // Pinned to the wrong CA: Orthanc's certificate does not verify → retryable, TLS reason.
      const wrong = { ...destination, device: await db.device.update({ where: { id: device.id }, data: { tlsCaCertificates: caB.cert } }) };
      const failed = await cstoreSender(wrong, exporter, { callingAe: pool.aeTitle }).send(instances, new AbortController().signal);
      for (const o of failed) {
        expect(o).toMatchObject({ state: 'FAILED', retryable: true });
        expect(o.reason).toMatch(/TLS handshake/);
      }
    } finally {
      await tlsOrthanc.stop();
      await pki.cleanup();
    }
  });
});
