/**
 * `tributary export start … --wait` as a user runs it: progress lines, exit 0 when COMPLETED, 1
 * when FAILED; a coordinator is refused (exit 2). The export job itself runs in this process
 * (runExport) while the CLI waits.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import { runExport } from '@/lib/exports/run-export';
import { makePool, makeUser, waitFor } from '../../helpers/fixtures';
import { makeExporter, makeWebDestination, seedStudies } from './helpers';

const BIN = path.resolve(import.meta.dirname, '..', '..', '..', 'bin', 'tributary.mjs');

function cli(args: string[]) {
  const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  return new Promise<{ code: number | null; out: string; err: string }>((ok) => p.on('exit', (code) => ok({ code, out, err })));
}

const server = http.createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const sops = [...Buffer.concat(chunks).toString('latin1').matchAll(/\x00\x08\x00\x18\x00?UI..([0-9.]+)/g)].map((m) => m[1]);
  res.writeHead(200, { 'content-type': 'application/dicom+json' });
  res.end(JSON.stringify({ '00081199': { vr: 'SQ', Value: sops.map((s) => ({ '00081155': { vr: 'UI', Value: [s] } })) } }));
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

async function runWhenCreated(poolId: string) {
  const ex = await waitFor(() => db.export.findFirst({ where: { poolId } }), { timeoutMs: 60_000, what: 'the CLI to create the export' });
  await runExport(ex.id, ex.attempts, { isFinalAttempt: true });
}

describe('tributary export start', () => {
  it('waits with progress: exit 0 when COMPLETED, 1 when FAILED; refuses a coordinator', async () => {
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/studies`;
    const researcher = await makeUser('RESEARCHER');
    const coord = await makeUser('COORDINATOR');
    const pool = await makePool({ members: [{ userId: researcher.id, role: 'RESEARCHER' }, { userId: coord.id, role: 'COORDINATOR' }] });
    const seeded = await seedStudies(pool.id, 99, { instancesPerSeries: 2 });
    const exporter = await makeExporter(pool.id, (await makeWebDestination(url)).id);

    const [ok] = await Promise.all([cli(['export', 'start', '--pool', pool.id, '--exporter', exporter.id, '--email', researcher.email, '--study', seeded.studyIds[0], '--wait']), runWhenCreated(pool.id)]);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/export \S+: 2 instance\(s\) queued/);
    expect(ok.out).toMatch(/COMPLETED 2\/2 sent=2/);

    const pool2 = await makePool({ members: [{ userId: researcher.id, role: 'RESEARCHER' }] });
    await seedStudies(pool2.id, 98, { instancesPerSeries: 1 });
    const down = await makeExporter(pool2.id, (await makeWebDestination('http://127.0.0.1:9/studies')).id);
    const [bad] = await Promise.all([cli(['export', 'start', '--pool', pool2.id, '--exporter', down.id, '--email', researcher.email, '--all', '--wait']), runWhenCreated(pool2.id)]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/FAILED 1\/1 .*failed=1/);
    expect(bad.out).toMatch(/last error: .*refused the connection/);

    const refused = await cli(['export', 'start', '--pool', pool.id, '--exporter', exporter.id, '--email', coord.email, '--all']);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/role in this pool does not allow/);
    expect(await db.export.count({ where: { poolId: pool.id } })).toBe(1);
  }, 150_000);
});
