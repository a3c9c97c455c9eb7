/**
 * Export benchmark: how fast do Tributary's exporters deliver to Orthanc, compared with DCMTK
 * storescu (C-STORE) and curl (STOW-RS) sending the same files to the same Orthanc?
 *
 *   npx tsx bench/export/run.ts [--instances 500] [--rounds 1] [--rows 512] [--per-request 50]
 *
 * 1. Generates a synthetic CT study (lib/synthetic generateCtStudy; 512 x 512, 16 bit, ~527 KB per
 *    instance) as Part-10 files in a temp dir, and the multipart bodies curl will POST (not timed).
 * 2. Each round runs every row once, each into a freshly started Orthanc 1.10 (DICOMweb plugin on;
 *    an Orthanc that just deleted the previous row's instances ingests measurably more slowly; and
 *    `sync` before each row, so no row pays for the previous row's disk writeback),
 *    references first in odd rounds, Tributary rows first in even rounds:
 *    - C-STORE storescu (reference): `storescu` with every file on one association;
 *    - C-STORE Tributary: lib/exports/senders/cstore.ts, all instances on one association
 *      (instancesPerRequest = instances, concurrency 1), as storescu;
 *    - STOW-RS curl (reference): `curl --data-binary` (no `Expect: 100-continue` wait) of the prepared multipart bodies, one request
 *      per --per-request instances, one after the other;
 *    - STOW-RS Tributary: lib/exports/senders/stow.ts with the same instances per request,
 *      concurrency 1.
 * 3. Prints instances/s per row and round, the best of the rounds, and each Tributary row's ratio
 *    to its reference. Fails only if Orthanc does not end a row holding every instance (or a sender
 *    reports one not sent), never on timing. Needs neither PostgreSQL nor Redis.
 */
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Destination, Device, Exporter } from '../../lib/generated/prisma/client';
import { readInstanceIds, readPart10Header } from '../../lib/dicom/part10';
import type { OutgoingInstance } from '../../lib/exports/sender';
import { cstoreSender } from '../../lib/exports/senders/cstore';
import { stowSender } from '../../lib/exports/senders/stow';
import { generateCtStudy } from '../../lib/synthetic';
import { DCMTK_ENV, startOrthanc, type OrthancHandle } from '../../tests/helpers/orthanc';

const run = promisify(execFile);

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const now = new Date();
const fakeDevice = (o: OrthancHandle): Device =>
  ({ id: 'bench', name: 'bench', aeTitle: o.aet, host: '127.0.0.1', port: o.dicomPort, tls: false, tlsCaCertificates: '', tlsClientCertificate: '', tlsClientKey: null, tlsMinVersion: 'TLSv1.2', tlsCiphers: '', tlsRequireClientCertificate: true, addresses: [], description: '', createdAt: now, updatedAt: now }) as Device;

function exporter(perRequest: number): Exporter {
  return {
    id: 'bench', poolId: 'bench', name: 'bench', destinationId: 'bench', chunked: false, concurrency: 1, instancesPerRequest: perRequest, transferSyntaxes: [],
    bearerToken: null, basicAuth: null, allowAnyHostname: false, disableTrustManager: false, storageCommitment: false, schedule: null, autoExport: false,
    enabled: true, createdById: null, createdAt: now, updatedAt: now,
  } as Exporter;
}

function destination(o: OrthancHandle, type: 'DICOM' | 'DICOMWEB'): Destination & { device: Device | null } {
  return {
    id: 'bench', name: 'bench', type, description: '', deviceId: type === 'DICOM' ? 'bench' : null, device: type === 'DICOM' ? fakeDevice(o) : null,
    storageCommitment: false, maxAssociations: 4, webStowUrl: type === 'DICOMWEB' ? `${o.httpUrl}/dicom-web/studies` : null, webHeaders: {},
    webConnectTimeoutMs: 10_000, webReadTimeoutMs: 600_000, webTlsCa: null, webTlsAllowAnyHost: false, webTlsTrustAll: false, webAuthType: 'NONE',
    webUsername: null, webSecret: null, webTokenUrl: null, webScope: null, createdAt: now, updatedAt: now,
  } as unknown as Destination & { device: Device | null };
}

async function main() {
  const instances = arg('instances', 500);
  const rounds = arg('rounds', 1);
  const rows = arg('rows', 512);
  const perRequest = arg('per-request', 50);
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'tributary-bench-export-'));
  const filesDir = path.join(work, 'files');
  await fsp.mkdir(filesDir);
  let orthanc = await startOrthanc({ dicomWeb: true });
  try {
    const outgoing: OutgoingInstance[] = [];
    let bytes = 0;
    for (const inst of generateCtStudy({ instances, rows, columns: rows })) {
      const file = path.join(filesDir, `${String(outgoing.length).padStart(5, '0')}.dcm`);
      await fsp.writeFile(file, inst.buffer);
      bytes += inst.buffer.length;
      outgoing.push({
        id: String(outgoing.length), studyInstanceUid: inst.studyInstanceUid, seriesInstanceUid: inst.seriesInstanceUid, sopInstanceUid: inst.sopInstanceUid,
        sopClassUid: readInstanceIds(inst.buffer).sopClassUid!, transferSyntaxUid: readPart10Header(inst.buffer).transferSyntaxUid, file,
      });
    }
    // curl's bodies, prepared ahead (not timed): one multipart body per request.
    const boundary = 'tributary-bench-boundary';
    const bodies: string[] = [];
    for (let i = 0; i < outgoing.length; i += perRequest) {
      const parts: Buffer[] = [];
      for (const o of outgoing.slice(i, i + perRequest)) {
        const data = await fsp.readFile(o.file);
        parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\nContent-Length: ${data.length}\r\n\r\n`, 'latin1'), data, Buffer.from('\r\n'));
      }
      parts.push(Buffer.from(`--${boundary}--\r\n`));
      const f = path.join(work, `body-${bodies.length}.bin`);
      await fsp.writeFile(f, Buffer.concat(parts));
      bodies.push(f);
    }
    console.log(`${instances} instances, ${(bytes / 1e6).toFixed(0)} MB, ${rows} x ${rows}; STOW-RS ${perRequest} instances per request`);

    const signal = new AbortController().signal;
    const expectAllSent = (name: string, outcomes: { state: string; reason?: string }[]) => {
      const bad = outcomes.filter((o) => o.state !== 'SENT');
      if (bad.length || outcomes.length !== instances) throw new Error(`${name}: ${bad.length} not sent (${bad[0]?.reason ?? 'missing outcomes'})`);
    };
    const ROWS: { name: string; reference?: string; run(): Promise<void> }[] = [
      {
        name: 'C-STORE storescu',
        run: async () => void (await run('storescu', ['-aet', 'BENCH', '-aec', orthanc.aet, '--max-pdu', '131072', '127.0.0.1', String(orthanc.dicomPort), ...outgoing.map((o) => o.file)], { env: DCMTK_ENV, maxBuffer: 64 << 20 })),
      },
      {
        name: 'C-STORE Tributary',
        reference: 'C-STORE storescu',
        run: async () => expectAllSent('C-STORE', await cstoreSender(destination(orthanc, 'DICOM'), exporter(instances), { callingAe: 'BENCH' }).send(outgoing, signal)),
      },
      {
        name: 'STOW-RS curl',
        run: async () => {
          for (const b of bodies)
            await run('curl', ['-sS', '--fail', '-o', '/dev/null', '-X', 'POST', '-H', 'Expect:', '-H', `Content-Type: multipart/related; type="application/dicom"; boundary=${boundary}`, '-H', 'Accept: application/dicom+json', '--data-binary', `@${b}`, `${orthanc.httpUrl}/dicom-web/studies`]);
        },
      },
      {
        name: 'STOW-RS Tributary',
        reference: 'STOW-RS curl',
        run: async () => {
          const sender = stowSender(destination(orthanc, 'DICOMWEB'), exporter(perRequest));
          const out = [];
          for (let i = 0; i < outgoing.length; i += perRequest) out.push(...(await sender.send(outgoing.slice(i, i + perRequest), signal)));
          await sender.close();
          expectAllSent('STOW-RS', out);
        },
      },
    ];
    const best = new Map<string, number>();
    for (let r = 1; r <= rounds; r++) {
      // Odd rounds run the references first, even rounds the Tributary rows first.
      const order = r % 2 ? ROWS : [ROWS[1], ROWS[0], ROWS[3], ROWS[2]];
      for (const row of order) {
        // A fresh Orthanc for every row: one that just deleted 500 instances ingests more slowly.
        await orthanc.stop();
        orthanc = await startOrthanc({ dicomWeb: true });
        // Flush the previous row's 263 MB of dirty pages first: otherwise the row after a row
        // competes with its writeback (the first row of a run was always the fastest).
        await run('sync', []);
        const t = performance.now();
        await row.run();
        const secs = (performance.now() - t) / 1000;
        const held = await orthanc.countInstances();
        if (held !== instances) throw new Error(`${row.name}: Orthanc holds ${held} of ${instances} instances`);
        const rate = instances / secs;
        best.set(row.name, Math.max(best.get(row.name) ?? 0, rate));
        console.log(`round ${r} ${row.name.padEnd(18)}: ${secs.toFixed(2)} s, ${rate.toFixed(0)} instances/s, ${((bytes / 1e6) / secs).toFixed(0)} MB/s`);
      }
    }
    console.log('');
    console.log(`best of ${rounds}:`);
    for (const row of ROWS) {
      const rate = best.get(row.name) ?? 0;
      const ref = row.reference ? best.get(row.reference) : undefined;
      console.log(`  ${row.name.padEnd(18)} ${rate.toFixed(0).padStart(5)} instances/s${ref ? `   ${(rate / ref).toFixed(2)} x ${row.reference}` : ''}`);
    }
  } finally {
    await orthanc.stop();
    await fsp.rm(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
