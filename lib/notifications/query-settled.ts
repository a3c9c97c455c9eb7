/**
 * "Your retrieval finished": the coordinator who started a query is told once every study it
 * asked for has settled (DONE, PARTIAL, FAILED or CANCELLED) — in the app, and by e-mail when
 * SMTP is configured (lib/notifications/email.ts).
 *
 * Once per completion, whatever crashes or retries happen:
 * - the notice's dedupeKey names the completion ("query-settled:<query>:<studies>:<attempts>");
 *   a second call for the same completion inserts nothing. Asking for more studies or retrying
 *   one changes the key, so that later completion is told again;
 * - the e-mail is owed by the notice row (emailState PENDING) and claimed before sending, so two
 *   workers never send it both; a sender that crashed mid-send leaves a stale claim that is taken
 *   over after EMAIL_CLAIM_MS (the only case where a message can go twice: the server accepted it
 *   and the crash came before we recorded it);
 * - callers are the move/anonymize jobs when a study settles, and the maintenance sweep
 *   (sweepQueryNotices) for anything a crash between "study settled" and "notice written" missed.
 *
 * No PHI: the text has the pool's name, the query's date and counts, and a link. Never an MRN,
 * patient name, accession number, UID or spreadsheet file name (which people name after patients).
 */
import type { Actor } from '../auth/actor';
import { requirePool } from '../auth/access';
import { db } from '../db';
import { env } from '../env';
import { AppError } from '../errors';
import { logger } from '../logger';
import { sendMail, smtpConfig, type SmtpConfig } from './email';

const log = logger('notifications');

const TERMINAL = new Set(['DONE', 'PARTIAL', 'FAILED', 'CANCELLED']);
/** A send claim older than this belongs to a sender that died; another may take it. */
export const EMAIL_CLAIM_MS = 5 * 60_000;
/** Tries per e-mail (one per sweep) before it is marked FAILED. */
export const EMAIL_MAX_ATTEMPTS = 5;

export type QuerySettledKind = 'query.retrieval-done' | 'query.retrieval-partial' | 'query.retrieval-failed';

export interface SettledSummary {
  kind: QuerySettledKind;
  studies: number;
  done: number;
  partial: number;
  failed: number;
  cancelled: number;
}

/** Pure: the outcome of a settled set of studies, or null when nothing is to be told (not settled, or every study was cancelled). */
export function summarizeSettled(states: string[]): SettledSummary | null {
  if (!states.length || states.some((s) => !TERMINAL.has(s))) return null;
  const n = (s: string) => states.filter((x) => x === s).length;
  const [done, partial, failed, cancelled] = [n('DONE'), n('PARTIAL'), n('FAILED'), n('CANCELLED')];
  if (cancelled === states.length) return null;
  const kind: QuerySettledKind = failed === 0 && partial === 0 ? 'query.retrieval-done' : done === 0 && partial === 0 ? 'query.retrieval-failed' : 'query.retrieval-partial';
  return { kind, studies: states.length, done, partial, failed, cancelled };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function outcomeText(s: SettledSummary): string {
  const parts = [`${s.done} stored`];
  if (s.partial) parts.push(`${s.partial} partly stored`);
  if (s.failed) parts.push(`${s.failed} failed`);
  if (s.cancelled) parts.push(`${s.cancelled} cancelled`);
  const verb = s.kind === 'query.retrieval-done' ? 'finished' : s.kind === 'query.retrieval-failed' ? 'failed' : 'partly failed';
  return `${verb}: ${plural(s.studies, 'study', 'studies')}, ${parts.join(', ')}`;
}

function when(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function queryLink(poolId: string, queryId: string): string {
  return `${env().PUBLIC_URL.replace(/\/$/, '')}/pools/${encodeURIComponent(poolId)}/queries/${encodeURIComponent(queryId)}`;
}

/**
 * Writes the notice for a query whose studies have all settled (idempotent), then sends its
 * e-mail if one is owed. Returns whether a new notice was written. Never throws: a failed notice
 * must not fail the retrieval (the log says so, by class).
 */
export async function notifyQuerySettled(queryId: string, opts: { smtp?: SmtpConfig | null } = {}): Promise<boolean> {
  const smtp = opts.smtp === undefined ? smtpConfig() : opts.smtp;
  try {
    const q = await db.query.findUnique({
      where: { id: queryId },
      select: {
        id: true,
        poolId: true,
        createdAt: true,
        pool: { select: { name: true } },
        createdBy: { select: { id: true, email: true, name: true, role: true, active: true } },
        retrievals: { select: { state: true, attempts: true } },
      },
    });
    if (!q || !q.createdBy || !q.createdBy.active) return false;
    const summary = summarizeSettled(q.retrievals.map((r) => r.state));
    if (!summary) return false;
    // Only someone who may still coordinate this pool learns how its retrieval went.
    const u = q.createdBy;
    const recipient: Actor = { userId: u.id, email: u.email, name: u.name, role: u.role, tokenPoolId: null, via: 'session' };
    try {
      await requirePool(recipient, q.poolId, 'coordinate');
    } catch (e) {
      if (e instanceof AppError) return false;
      throw e;
    }
    const attempts = q.retrievals.reduce((s, r) => s + r.attempts, 0);
    const dedupeKey = `query-settled:${q.id}:${q.retrievals.length}:${attempts}`;
    const text = `Retrieval for your query of ${when(q.createdAt)} in ${q.pool.name} ${outcomeText(summary)}.`;
    const { count } = await db.notification.createMany({
      data: [{ userId: u.id, poolId: q.poolId, kind: summary.kind, text, dedupeKey, emailState: smtp ? 'PENDING' : null }],
      skipDuplicates: true,
    });
    if (smtp) await deliverPendingEmails(smtp, { dedupeKey });
    return count === 1;
  } catch (err) {
    log.error('query notice failed', { queryId, err });
    return false;
  }
}

/** Called when a retrieval may have settled: tells its query's coordinator once all its studies have. */
export async function noteRetrievalSettled(retrievalId: string, opts: { smtp?: SmtpConfig | null } = {}): Promise<void> {
  const r = await db.retrieval.findUnique({ where: { id: retrievalId }, select: { queryId: true, state: true } }).catch(() => null);
  if (!r || !TERMINAL.has(r.state)) return;
  await notifyQuerySettled(r.queryId, opts);
}

const SUBJECTS: Record<string, string> = {
  'query.retrieval-done': 'retrieval finished',
  'query.retrieval-partial': 'retrieval partly failed',
  'query.retrieval-failed': 'retrieval failed',
};

/** The e-mail for a notice: its text (pool name, date, counts) and a link to the query. */
export function emailBody(n: { kind: string; text: string; poolId: string | null; dedupeKey: string | null }, userName: string): { subject: string; text: string } {
  const queryId = n.dedupeKey?.split(':')[1] ?? '';
  const link = n.poolId && queryId ? queryLink(n.poolId, queryId) : env().PUBLIC_URL;
  return {
    subject: `Tributary: ${SUBJECTS[n.kind] ?? 'notification'}`,
    text: `Hello ${userName},\n\n${n.text}\n\nOpen the query in Tributary for the details of each study:\n${link}\n\n(This message holds counts only, never patient data. You receive it because you started this query.)\n`,
  };
}

/**
 * Sends the e-mails owed: one notice's (dedupeKey) or all of them (the sweep). Each is claimed
 * first (a conditional update), so concurrent callers never both send it.
 */
export async function deliverPendingEmails(smtp: SmtpConfig, where: { dedupeKey?: string } = {}): Promise<{ sent: number; failed: number }> {
  const stale = new Date(Date.now() - EMAIL_CLAIM_MS);
  const owed = await db.notification.findMany({
    where: { emailState: 'PENDING', ...(where.dedupeKey ? { dedupeKey: where.dedupeKey } : {}), OR: [{ emailClaimedAt: null }, { emailClaimedAt: { lt: stale } }] },
    select: { id: true, kind: true, text: true, poolId: true, dedupeKey: true, emailAttempts: true, userId: true },
    take: 100,
  });
  let sent = 0;
  let failed = 0;
  for (const n of owed) {
    const claimedAt = new Date();
    const claim = await db.notification.updateMany({
      where: { id: n.id, emailState: 'PENDING', OR: [{ emailClaimedAt: null }, { emailClaimedAt: { lt: stale } }] },
      data: { emailClaimedAt: claimedAt, emailAttempts: { increment: 1 } },
    });
    if (!claim.count) continue;
    const user = await db.user.findUnique({ where: { id: n.userId }, select: { email: true, name: true, active: true } });
    if (!user || !user.active) {
      await db.notification.update({ where: { id: n.id }, data: { emailState: 'FAILED', emailClaimedAt: null } });
      continue;
    }
    try {
      await sendMail(smtp, { to: user.email, ...emailBody(n, user.name) });
      await db.notification.update({ where: { id: n.id }, data: { emailState: 'SENT', emailedAt: new Date(), emailClaimedAt: null } });
      sent++;
    } catch (err) {
      failed++;
      const last = n.emailAttempts + 1 >= EMAIL_MAX_ATTEMPTS;
      log.warn('notification e-mail not sent', { notificationId: n.id, attempt: n.emailAttempts + 1, final: last, err });
      await db.notification.update({ where: { id: n.id }, data: { emailState: last ? 'FAILED' : 'PENDING', emailClaimedAt: null } });
    }
  }
  return { sent, failed };
}

/**
 * The maintenance sweep: queries with a study settled in the last `sinceHours` get their notice
 * if a crash skipped it, and owed e-mails are (re)tried.
 */
export async function sweepQueryNotices(opts: { smtp?: SmtpConfig | null; sinceHours?: number } = {}): Promise<{ queries: number; notices: number }> {
  const smtp = opts.smtp === undefined ? smtpConfig() : opts.smtp;
  const since = new Date(Date.now() - (opts.sinceHours ?? 48) * 3600_000);
  const rows = await db.retrieval.findMany({ where: { finishedAt: { gte: since } }, select: { queryId: true }, distinct: ['queryId'] });
  let notices = 0;
  for (const r of rows) if (await notifyQuerySettled(r.queryId, { smtp })) notices++;
  if (smtp) await deliverPendingEmails(smtp);
  return { queries: rows.length, notices };
}
