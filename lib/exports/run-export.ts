/**
 * The export job (queue "export", job "export.send"): sends an Export's PENDING instances to its
 * exporter's destination and records, per instance, what the destination answered.
 *
 * - Idempotent and resumable: only PENDING instances are sent. An instance becomes SENT/WARNING
 *   only once the destination acknowledged it, in the same transaction as its ExportDelivery row
 *   and the live counters (guarded on state = PENDING, so two runs never count one twice). A
 *   worker killed mid-batch leaves that batch PENDING: the job (same id, picked up once its lock
 *   lapses) sends it again — the destination receives those instances twice, under the same SOP
 *   Instance UIDs, which a STOW-RS or C-STORE destination stores once.
 * - Already delivered: an instance the destination holds from an earlier export of this pool
 *   (ExportDelivery) with the same SHA-256 as what would be sent now becomes SKIPPED, unless the
 *   export asked to resend. The check is made here, just before sending (not when the export is
 *   requested), so it hashes files in the worker, never in the web request.
 * - Concurrency: up to exporter.concurrency batches in flight, each holding one lease of the
 *   destination (lib/jobs/leases.ts, `destination:<id>`, maxAssociations across every export and
 *   worker). No free lease: the job waits (delayed) and tries again.
 * - Schedule window (exporter.schedule): outside it the export is SCHEDULED and the job delayed
 *   until the window opens. A window that closes mid-export does not interrupt it.
 * - Cancellation: cancelRequested is read between batches and once a second while one is in
 *   flight (aborting the request); what is not yet acknowledged stays PENDING → CANCELED.
 * - Retries: a destination that is down, refuses the credentials or the certificate, or answers
 *   5xx makes its batch `retryable`: those instances stay PENDING, the job fails this attempt
 *   (BullMQ backs off, lib/jobs/catalogue backoffDelay); on the last attempt they become FAILED
 *   with the reason.
 * - Outcome (seed §3): PENDING left → CANCELED; else failed > 0 → FAILED when nothing was
 *   delivered (sent + warnings = 0), otherwise WARNING; else warnings > 0 → WARNING; else
 *   COMPLETED. Then onExportFinished (lib/exports/hooks.ts: the receipt).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { ExportState } from '../generated/prisma/client';
import { audit } from '../audit';
import { inWindow, nextWindowStart } from '../connectors/schedule';
import { db } from '../db';
import { readPart10Header } from '../dicom/part10';
import { AppError } from '../errors';
import { HttpError } from '../http/client';
import { tryAcquire, type Lease } from '../jobs/leases';
import { logger } from '../logger';
import type { StepOutcome } from '../queries/run-find';
import { absolute } from '../storage';
import { crashPoint } from '../testing/crash-point';
import { onExportFinished } from './hooks';
import type { ExportSender, InstanceOutcome, OutgoingInstance } from './sender';
import { senderFor } from './senders';
import { prepareForDestination } from './transcode';

const log = logger('exports.run');
export const TERMINAL: ExportState[] = ['COMPLETED', 'WARNING', 'FAILED', 'CANCELED'];
const PAGE = 500;
const LEASE_TTL_MS = 30_000;

export function destinationLease(destinationId: string) {
  return `destination:${destinationId}`;
}

/** Seed §3 outcome rules (docs/exports.md). */
export function exportOutcome(c: { pending: number; sent: number; warnings: number; failed: number }): ExportState {
  if (c.pending > 0) return 'CANCELED';
  if (c.failed > 0) return c.sent + c.warnings === 0 ? 'FAILED' : 'WARNING';
  if (c.warnings > 0) return 'WARNING';
  return 'COMPLETED';
}

export async function exportCounts(exportId: string) {
  const rows = await db.exportInstance.groupBy({ by: ['state'], where: { exportId }, _count: { _all: true } });
  const n = (s: string) => rows.find((r) => r.state === s)?._count._all ?? 0;
  return { pending: n('PENDING'), sent: n('SENT'), warnings: n('WARNING'), failed: n('FAILED'), skipped: n('SKIPPED'), total: rows.reduce((a, r) => a + r._count._all, 0) };
}

/** Writes the final state and counters once (guarded on the generation), audits, calls the hook. */
export async function finishExport(exportId: string, generation: number, lastError?: string | null): Promise<ExportState | null> {
  const c = await exportCounts(exportId);
  const state = exportOutcome(c);
  const done = await db.export.updateMany({
    where: { id: exportId, attempts: generation, state: { notIn: TERMINAL } },
    data: { state, sent: c.sent, warnings: c.warnings, failed: c.failed, skipped: c.skipped, total: c.total, finishedAt: new Date(), scheduledFor: null, ...(lastError !== undefined ? { lastError } : {}) },
  });
  if (done.count === 0) return null;
  const ex = await db.export.findUniqueOrThrow({ where: { id: exportId }, select: { poolId: true, exporterId: true } });
  await audit({
    action: 'export.finish',
    poolId: ex.poolId,
    targetType: 'export',
    targetId: exportId,
    detail: { exporterId: ex.exporterId, state, sent: c.sent, warnings: c.warnings, failed: c.failed, skipped: c.skipped, canceled: c.pending },
  });
  try {
    await onExportFinished(exportId);
  } catch (e) {
    log.error('export finished hook failed', { exportId, err: e });
  }
  return state;
}

interface Row {
  id: string;
  instanceId: string | null;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
}

async function sha256File(file: string, start = 0): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file, { highWaterMark: 256 * 1024, start }) as AsyncIterable<Buffer>) h.update(c);
  return h.digest('hex');
}

export interface RunExportOptions {
  isFinalAttempt?: boolean;
}

export async function runExport(exportId: string, generation: number, opts: RunExportOptions = {}): Promise<StepOutcome> {
  const ex = await db.export.findUnique({ where: { id: exportId }, include: { exporter: { include: { destination: { include: { device: true } } } } } });
  if (!ex || ex.attempts !== generation || TERMINAL.includes(ex.state)) return { status: 'done' };
  const { exporter } = ex;
  const destination = exporter.destination;
  if (ex.cancelRequested) {
    await finishExport(ex.id, generation);
    return { status: 'done' };
  }
  if (!exporter.enabled) {
    await finishExport(ex.id, generation, 'The exporter was disabled before this export ran');
    return { status: 'done' };
  }
  if (!inWindow(exporter.schedule)) {
    const until = nextWindowStart(exporter.schedule);
    await db.export.updateMany({ where: { id: ex.id, attempts: generation, state: { notIn: TERMINAL } }, data: { state: 'SCHEDULED', scheduledFor: until } });
    return { status: 'wait', until: until.getTime(), reason: 'schedule' };
  }

  const resource = destinationLease(destination.id);
  const leases: Lease[] = [];
  const first = await tryAcquire(resource, destination.maxAssociations, LEASE_TTL_MS);
  if (!first) return { status: 'wait', until: Date.now() + 1000 + Math.floor(Math.random() * 1000), reason: 'capacity' };
  leases.push(first);
  for (let i = 1; i < exporter.concurrency; i++) {
    const l = await tryAcquire(resource, destination.maxAssociations, LEASE_TTL_MS);
    if (!l) break;
    leases.push(l);
  }

  const controller = new AbortController();
  let sender: ExportSender | null = null;
  let retryError: string | null = null;
  let canceled = false;
  const poll = setInterval(() => {
    void db.export
      .findUnique({ where: { id: ex.id }, select: { cancelRequested: true, attempts: true } })
      .then((r) => {
        if (!r || r.cancelRequested || r.attempts !== generation) {
          canceled = true;
          controller.abort();
        }
      })
      .catch(() => undefined);
  }, 1000);
  poll.unref();
  try {
    const started = await db.export.updateMany({
      where: { id: ex.id, attempts: generation, state: { notIn: TERMINAL } },
      data: { state: 'RUNNING', startedAt: ex.startedAt ?? new Date(), scheduledFor: null },
    });
    if (started.count === 0) return { status: 'done' };
    try {
      sender = senderFor(destination, exporter);
    } catch (e) {
      // A configuration the sender cannot use (credentials not set, no URL, protocol not in this
      // build): nothing can be sent, every pending instance fails with the reason.
      const reason = e instanceof AppError ? e.message : 'The destination cannot be used';
      await db.exportInstance.updateMany({ where: { exportId: ex.id, state: 'PENDING' }, data: { state: 'FAILED', reason } });
      await finishExport(ex.id, generation, reason);
      return { status: 'done' };
    }

    // The pending instances, page by page, handed out to the lanes one batch at a time.
    let cursor: string | undefined;
    let buffered: Row[] = [];
    let exhausted = false;
    let pulling: Promise<void> = Promise.resolve();
    const nextBatch = (): Promise<Row[]> => {
      const p = pulling.then(async () => {
        if (buffered.length < exporter.instancesPerRequest && !exhausted) {
          const page = await db.exportInstance.findMany({
            where: { exportId: ex.id, state: 'PENDING', ...(cursor ? { id: { gt: cursor } } : {}) },
            orderBy: { id: 'asc' },
            take: PAGE,
            select: { id: true, instanceId: true, studyInstanceUid: true, seriesInstanceUid: true, sopInstanceUid: true, sopClassUid: true },
          });
          if (page.length < PAGE) exhausted = true;
          if (page.length) cursor = page[page.length - 1].id;
          buffered.push(...page);
        }
        return buffered.splice(0, exporter.instancesPerRequest);
      });
      pulling = p.then(() => undefined, () => undefined);
      return p;
    };

    const record = async (outcomes: InstanceOutcome[], rows: Map<string, Row>) => {
      const now = new Date();
      await db.$transaction(async (tx) => {
        const inc = { sent: 0, warnings: 0, failed: 0 };
        for (const o of outcomes) {
          const row = rows.get(o.id);
          if (!row) continue;
          const delivered = o.state === 'SENT' || o.state === 'WARNING';
          const r = await tx.exportInstance.updateMany({
            where: { id: o.id, exportId: ex.id, state: 'PENDING' },
            data: delivered
              ? { state: o.state, reason: o.reason ?? null, sha256: o.sha256 ?? null, transferSyntaxSent: o.transferSyntaxSent ?? null, sentAt: now }
              : { state: 'FAILED', reason: (o.reason ?? 'failed').slice(0, 1000) },
          });
          if (r.count !== 1) continue;
          if (delivered) {
            if (o.state === 'SENT') inc.sent++;
            else inc.warnings++;
            if (o.sha256)
              await tx.exportDelivery.upsert({
                where: { destinationId_poolId_sopInstanceUid: { destinationId: destination.id, poolId: ex.poolId, sopInstanceUid: row.sopInstanceUid } },
                create: { destinationId: destination.id, poolId: ex.poolId, sopInstanceUid: row.sopInstanceUid, sha256: o.sha256, exportId: ex.id, deliveredAt: now },
                update: { sha256: o.sha256, exportId: ex.id, deliveredAt: now },
              });
          } else inc.failed++;
        }
        if (inc.sent || inc.warnings || inc.failed)
          await tx.export.update({ where: { id: ex.id }, data: { sent: { increment: inc.sent }, warnings: { increment: inc.warnings }, failed: { increment: inc.failed } } });
      });
    };

    const lane = async () => {
      for (;;) {
        if (retryError || canceled || controller.signal.aborted) return;
        const batch = await nextBatch();
        if (!batch.length) return;
        const state = await db.export.findUnique({ where: { id: ex.id }, select: { cancelRequested: true, attempts: true } });
        if (!state || state.cancelRequested || state.attempts !== generation) {
          canceled = true;
          controller.abort();
          return;
        }
        const files = await db.instance.findMany({
          where: { poolId: ex.poolId, id: { in: batch.map((b) => b.instanceId).filter((x): x is string => !!x) } },
          select: { id: true, path: true, transferSyntaxUid: true },
        });
        const fileOf = new Map(files.map((f) => [f.id, f]));
        const rows = new Map(batch.map((b) => [b.id, b]));
        const gone: InstanceOutcome[] = [];
        const outgoing: OutgoingInstance[] = [];
        for (const b of batch) {
          const f = b.instanceId ? fileOf.get(b.instanceId) : undefined;
          if (!f) gone.push({ id: b.id, state: 'FAILED', reason: 'no longer in the pool' });
          else outgoing.push({ id: b.id, studyInstanceUid: b.studyInstanceUid, seriesInstanceUid: b.seriesInstanceUid, sopInstanceUid: b.sopInstanceUid, sopClassUid: b.sopClassUid, transferSyntaxUid: f.transferSyntaxUid, file: absolute(f.path) });
        }
        if (gone.length) await record(gone, rows);
        const toSend = ex.resend ? outgoing : await skipDelivered(outgoing);
        if (!toSend.length) continue;
        let outcomes: InstanceOutcome[];
        try {
          outcomes = await sender!.send(toSend, controller.signal);
        } catch (e) {
          if (controller.signal.aborted) return;
          throw e;
        }
        crashPoint('export.before-record');
        const retry = outcomes.find((o) => o.retryable);
        if (retry) retryError = retry.reason ?? 'The destination is unavailable';
        await record(
          outcomes.filter((o) => !o.retryable),
          rows,
        );
        crashPoint('export.after-record');
      }
    };

    /** Instances the destination already holds with the same bytes become SKIPPED; the rest are returned. */
    const skipDelivered = async (outgoing: OutgoingInstance[]): Promise<OutgoingInstance[]> => {
      if (!outgoing.length) return outgoing;
      const known = await db.exportDelivery.findMany({
        where: { destinationId: destination.id, poolId: ex.poolId, sopInstanceUid: { in: outgoing.map((o) => o.sopInstanceUid) } },
        select: { sopInstanceUid: true, sha256: true, exportId: true },
      });
      if (!known.length) return outgoing;
      const bySop = new Map(known.map((k) => [k.sopInstanceUid, k]));
      const keep: OutgoingInstance[] = [];
      const skip: { id: string; sha256: string; exportId: string }[] = [];
      for (const o of outgoing) {
        const k = bySop.get(o.sopInstanceUid);
        if (!k) {
          keep.push(o);
          continue;
        }
        let sha: string | null = null;
        try {
          const p = await prepareForDestination(o.file, o.transferSyntaxUid, exporter.transferSyntaxes);
          // What each sender hashes: STOW-RS sends the whole Part-10 file; C-STORE sends the
          // dataset only (no preamble or meta header), as stored or converted by its own converter
          // (lib/exports/senders/cstore-transcode.ts), whose bytes are not known here: sent again.
          if (destination.type === 'DICOM') sha = p.kind === 'as-stored' ? await sha256File(p.file, readPart10Header(p.file).datasetOffset) : null;
          else if (p.kind === 'as-stored') sha = await sha256File(p.file);
          else if (p.kind === 'converted') sha = createHash('sha256').update(p.bytes).digest('hex');
        } catch {
          sha = null;
        }
        if (sha && sha === k.sha256) skip.push({ id: o.id, sha256: sha, exportId: k.exportId });
        else keep.push(o);
      }
      if (skip.length)
        await db.$transaction(async (tx) => {
          let n = 0;
          for (const s of skip) {
            const r = await tx.exportInstance.updateMany({
              where: { id: s.id, exportId: ex.id, state: 'PENDING' },
              data: { state: 'SKIPPED', sha256: s.sha256, reason: s.exportId === ex.id ? 'already sent by this export' : 'already at the destination (same bytes, sent by an earlier export)' },
            });
            n += r.count;
          }
          if (n) await tx.export.update({ where: { id: ex.id }, data: { skipped: { increment: n } } });
        });
      return keep;
    };

    await Promise.all(leases.map(() => lane()));

    if (canceled) {
      await finishExport(ex.id, generation);
      return { status: 'done' };
    }
    const retryReason = retryError as string | null;
    if (retryReason) {
      if (opts.isFinalAttempt) {
        await db.exportInstance.updateMany({ where: { exportId: ex.id, state: 'PENDING' }, data: { state: 'FAILED', reason: retryReason.slice(0, 1000) } });
        await finishExport(ex.id, generation, retryReason);
        return { status: 'done' };
      }
      await db.export.updateMany({ where: { id: ex.id, attempts: generation, state: { notIn: TERMINAL } }, data: { lastError: retryReason } });
      // BullMQ retries this attempt with backoff; the message names the host and status only.
      throw new HttpError('network', retryReason, true);
    }
    if (exporter.storageCommitment && sender?.commit) await commitSent(ex.id, sender, controller.signal);
    await finishExport(ex.id, generation, null);
    return { status: 'done' };
  } finally {
    clearInterval(poll);
    await sender?.close().catch(() => undefined);
    await Promise.all(leases.map((l) => l.release().catch(() => undefined)));
  }
}

/**
 * Storage Commitment (C-STORE exporters with `storageCommitment`; docs/exports.md): once every
 * instance has its outcome, ask the destination to commit what it acknowledged, 1000 instances per
 * request. Rows are marked PENDING before asking, so a worker that dies while waiting asks again
 * when the job resumes (a new Transaction UID; the device answers each).
 */
async function commitSent(exportId: string, sender: ExportSender, signal: AbortSignal): Promise<void> {
  for (;;) {
    if (signal.aborted) return;
    const rows = await db.exportInstance.findMany({
      where: { exportId, state: { in: ['SENT', 'WARNING'] }, OR: [{ commitment: null }, { commitment: 'PENDING' }] },
      select: { id: true, sopClassUid: true, sopInstanceUid: true },
      orderBy: { id: 'asc' },
      take: 1000,
    });
    if (!rows.length) return;
    await db.exportInstance.updateMany({ where: { id: { in: rows.map((r) => r.id) } }, data: { commitment: 'PENDING' } });
    const result = await sender.commit!(rows.map((r) => ({ sopClassUid: r.sopClassUid, sopInstanceUid: r.sopInstanceUid })), signal);
    if (signal.aborted) return;
    const committed = rows.filter((r) => result.get(r.sopInstanceUid) === 'COMMITTED').map((r) => r.id);
    const failed = rows.filter((r) => result.get(r.sopInstanceUid) !== 'COMMITTED').map((r) => r.id);
    if (committed.length) await db.exportInstance.updateMany({ where: { id: { in: committed } }, data: { commitment: 'COMMITTED' } });
    if (failed.length) await db.exportInstance.updateMany({ where: { id: { in: failed } }, data: { commitment: 'FAILED' } });
  }
}
