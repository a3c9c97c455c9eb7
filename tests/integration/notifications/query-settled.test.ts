/**
 * "Your retrieval finished" notices (lib/notifications/query-settled.ts): in the app and by
 * e-mail through a real SMTP server started here (npm smtp-server, with AUTH), once per
 * completion across repeated calls, concurrent senders and a crashed sender; no PHI in the
 * e-mail; nothing for a coordinator who left the pool.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '@/lib/db';
import type { SmtpConfig } from '@/lib/notifications/email';
import { deliverPendingEmails, notifyQuerySettled, summarizeSettled, sweepQueryNotices, EMAIL_CLAIM_MS } from '@/lib/notifications/query-settled';
import { makeConnector, makePool, makeUser, suffix } from '../../helpers/fixtures';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

const received: Received[] = [];
let server: SMTPServer;
let smtp: SmtpConfig;
let rejectNext = 0;

beforeAll(async () => {
  server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _session, cb) {
      if (auth.username === 'tributary' && auth.password === 'mail-secret') cb(null, { user: 'tributary' });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (rejectNext > 0) {
          rejectNext--;
          const err = new Error('mailbox unavailable') as Error & { responseCode: number };
          err.responseCode = 450;
          return cb(err);
        }
        // Quoted-printable decoded (soft line breaks joined), so the checks read the text as sent.
        const raw = Buffer.concat(chunks)
          .toString('utf8')
          .replace(/=\r?\n/g, '')
          .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
        received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  smtp = { url: `smtp://tributary:mail-secret@127.0.0.1:${port}`, from: 'Tributary <tributary@hospital.test>' };
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const PHI = { mrn: `MRN${suffix()}`, name: `DOE^JANE${suffix()}`, accession: `ACC${suffix()}` };

/** A query of `coordinator` in a new pool with one study per state given. */
async function queryWith(states: ('DONE' | 'PARTIAL' | 'FAILED' | 'CANCELLED' | 'MOVING')[], opts: { memberRole?: 'COORDINATOR' | 'RESEARCHER' } = {}) {
  const coordinator = await makeUser('COORDINATOR');
  const pool = await makePool({ members: [{ userId: coordinator.id, role: opts.memberRole ?? 'COORDINATOR' }] });
  const { connector } = await makeConnector({ pacsAe: `P${suffix()}`, port: 104 });
  const query = await db.query.create({
    data: {
      poolId: pool.id,
      connectorId: connector.id,
      createdById: coordinator.id,
      source: 'SPREADSHEET',
      fileName: `${PHI.name}.xlsx`,
      status: 'DONE',
      items: { create: { rowNumber: 1, patientId: PHI.mrn, accessionNumber: PHI.accession, status: 'DONE' } },
    },
    include: { items: true },
  });
  const retrievals = [];
  for (const [i, state] of states.entries()) {
    const uid = `1.2.826.0.1.3680043.10.${Date.now()}.${i}`;
    const result = await db.queryResult.create({
      data: { queryId: query.id, itemId: query.items[0].id, studyInstanceUid: uid, patientId: PHI.mrn, patientName: PHI.name, accessionNumber: PHI.accession, selected: true },
    });
    retrievals.push(
      await db.retrieval.create({
        data: { queryId: query.id, resultId: result.id, poolId: pool.id, connectorId: connector.id, studyInstanceUid: uid, state, finishedAt: state === 'MOVING' ? null : new Date() },
      }),
    );
  }
  return { coordinator, pool, query, retrievals };
}

const notices = (queryId: string) => db.notification.findMany({ where: { dedupeKey: { startsWith: `query-settled:${queryId}:` } }, orderBy: { createdAt: 'asc' } });
const mailsTo = (address: string) => received.filter((m) => m.to.includes(address));

describe('summarizeSettled', () => {
  it('says finished, partly failed or failed, and nothing while a study runs or when all were cancelled', () => {
    expect(summarizeSettled(['DONE', 'DONE'])?.kind).toBe('query.retrieval-done');
    expect(summarizeSettled(['DONE', 'FAILED'])?.kind).toBe('query.retrieval-partial');
    expect(summarizeSettled(['PARTIAL'])?.kind).toBe('query.retrieval-partial');
    expect(summarizeSettled(['FAILED', 'CANCELLED'])?.kind).toBe('query.retrieval-failed');
    expect(summarizeSettled(['DONE', 'MOVING'])).toBeNull();
    expect(summarizeSettled(['CANCELLED'])).toBeNull();
    expect(summarizeSettled([])).toBeNull();
  });
});

describe('query-settled notices', () => {
  it('tells the coordinator in the app and by e-mail, once, with counts and a link and no PHI', async () => {
    const { coordinator, pool, query } = await queryWith(['DONE', 'DONE', 'FAILED']);
    // The job that settles the last study, a retried job and the sweep all ask: one notice, one e-mail.
    const results = await Promise.all([notifyQuerySettled(query.id, { smtp }), notifyQuerySettled(query.id, { smtp }), notifyQuerySettled(query.id, { smtp })]);
    await sweepQueryNotices({ smtp });
    expect(results.filter(Boolean)).toHaveLength(1);
    const [n, ...more] = await notices(query.id);
    expect(more).toHaveLength(0);
    expect(n.userId).toBe(coordinator.id);
    expect(n.kind).toBe('query.retrieval-partial');
    expect(n.text).toContain(pool.name);
    expect(n.text).toContain('3 studies, 2 stored, 1 failed');
    expect(n.emailState).toBe('SENT');

    const mails = mailsTo(coordinator.email);
    expect(mails).toHaveLength(1);
    expect(mails[0].from).toBe('tributary@hospital.test');
    expect(mails[0].raw).toMatch(/Subject: Tributary: retrieval partly failed/);
    expect(mails[0].raw).toContain(`/pools/${pool.id}/queries/${query.id}`);
    expect(mails[0].raw).toContain('2 stored, 1 failed');
    for (const secret of [PHI.mrn, PHI.name, PHI.accession, 'DOE', ...(await db.retrieval.findMany({ where: { queryId: query.id } })).map((r) => r.studyInstanceUid)])
      expect(mails[0].raw).not.toContain(secret);
  });

  it('says nothing while a study is still moving, and tells once it settles', async () => {
    const { coordinator, query, retrievals } = await queryWith(['DONE', 'MOVING']);
    expect(await notifyQuerySettled(query.id, { smtp })).toBe(false);
    expect(await notices(query.id)).toHaveLength(0);
    await db.retrieval.update({ where: { id: retrievals[1].id }, data: { state: 'FAILED', finishedAt: new Date() } });
    expect(await notifyQuerySettled(query.id, { smtp })).toBe(true);
    expect((await notices(query.id)).map((n) => n.kind)).toEqual(['query.retrieval-partial']);
    expect(mailsTo(coordinator.email)).toHaveLength(1);
  });

  it('a retried study that then finishes is a new completion: told again, once', async () => {
    const { coordinator, query, retrievals } = await queryWith(['FAILED']);
    await notifyQuerySettled(query.id, { smtp });
    await db.retrieval.update({ where: { id: retrievals[0].id }, data: { state: 'DONE', attempts: { increment: 1 } } });
    await notifyQuerySettled(query.id, { smtp });
    await notifyQuerySettled(query.id, { smtp });
    expect((await notices(query.id)).map((n) => n.kind)).toEqual(['query.retrieval-failed', 'query.retrieval-done']);
    const mails = mailsTo(coordinator.email);
    expect(mails.map((m) => /Subject: (.*)/.exec(m.raw)?.[1].trim())).toEqual(['Tributary: retrieval failed', 'Tributary: retrieval finished']);
  });

  it('without SMTP the notice is in-app only; nothing when every study was cancelled', async () => {
    const a = await queryWith(['DONE']);
    expect(await notifyQuerySettled(a.query.id, { smtp: null })).toBe(true);
    const [n] = await notices(a.query.id);
    expect(n.emailState).toBeNull();
    expect(mailsTo(a.coordinator.email)).toHaveLength(0);
    const b = await queryWith(['CANCELLED', 'CANCELLED']);
    expect(await notifyQuerySettled(b.query.id, { smtp })).toBe(false);
    expect(await notices(b.query.id)).toHaveLength(0);
  });

  it('a coordinator no longer coordinating the pool is not told', async () => {
    const { coordinator, query } = await queryWith(['DONE'], { memberRole: 'RESEARCHER' });
    expect(await notifyQuerySettled(query.id, { smtp })).toBe(false);
    expect(await notices(query.id)).toHaveLength(0);
    expect(mailsTo(coordinator.email)).toHaveLength(0);
  });

  it('an e-mail the server refused is retried by the sweep; a crashed sender’s claim is taken over after it lapses, not before', async () => {
    const { coordinator, query } = await queryWith(['DONE']);
    rejectNext = 1;
    await notifyQuerySettled(query.id, { smtp });
    let [n] = await notices(query.id);
    expect(n.emailState).toBe('PENDING');
    expect(n.emailAttempts).toBe(1);
    expect(mailsTo(coordinator.email)).toHaveLength(0);

    // A sender that claimed it and died: a fresh claim is respected...
    await db.notification.update({ where: { id: n.id }, data: { emailClaimedAt: new Date() } });
    await deliverPendingEmails(smtp, { dedupeKey: n.dedupeKey! });
    expect(mailsTo(coordinator.email)).toHaveLength(0);
    // ...and a stale one is taken over.
    await db.notification.update({ where: { id: n.id }, data: { emailClaimedAt: new Date(Date.now() - EMAIL_CLAIM_MS - 1000) } });
    await deliverPendingEmails(smtp, { dedupeKey: n.dedupeKey! });
    await deliverPendingEmails(smtp, { dedupeKey: n.dedupeKey! });
    [n] = await notices(query.id);
    expect(n.emailState).toBe('SENT');
    expect(mailsTo(coordinator.email)).toHaveLength(1);
  });

  it('a wrong SMTP password fails the send without writing the password anywhere', async () => {
    const { coordinator, query } = await queryWith(['DONE']);
    const bad = { ...smtp, url: smtp.url.replace('mail-secret', 'wrong-secret') };
    await notifyQuerySettled(query.id, { smtp: bad });
    const [n] = await notices(query.id);
    expect(n.emailState).toBe('PENDING');
    expect(mailsTo(coordinator.email)).toHaveLength(0);
    expect(JSON.stringify(n)).not.toContain('wrong-secret');
  });
});
