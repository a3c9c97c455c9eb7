/**
 * Demo data: exists only in demo mode (TRIBUTARY_MODE=demo). Idempotent: running it again
 * changes nothing that exists. The demo admin's password comes from DEMO_ADMIN_PASSWORD; change
 * it with `tributary user set-password` or by setting the variable before the first start.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_RULES } from '../anonymize/rules';
import { hashPassword } from '../auth/password';
import { db, Prisma } from '../db';
import { env } from '../env';

export const DEMO = {
  queryAe: 'TRIB_QUERY',
  receiveAe: 'TRIB_RECEIVE',
  researchAe: 'TRIB_CARDIO',
  otherAe: 'TRIB_NEURO',
  pacsAe: 'ORTHANC',
  ownerEmail: 'owner@tributary.local',
  coordinatorEmail: 'coordinator@tributary.local',
  researcherEmail: 'researcher@tributary.local',
  otherResearcherEmail: 'neuro@tributary.local',
  demoUserPassword: 'tributary-demo',
};

async function ensureUser(email: string, name: string, role: 'ADMIN' | 'COORDINATOR' | 'RESEARCHER', password: string) {
  const existing = await db.user.findUnique({ where: { email } });
  if (existing) return existing;
  return db.user.create({ data: { email, name, role, passwordHash: await hashPassword(password) } });
}

async function ensurePool(name: string, aeTitle: string, kind: 'RESEARCH' | 'INFRASTRUCTURE', description: string) {
  const existing = await db.pool.findUnique({ where: { aeTitle } });
  if (existing) return existing;
  // Research pools keep their study and series descriptions, cleaned (PS3.15 Clean Descriptors
  // Option), so people can tell the studies apart; infrastructure pools de-identify nothing.
  const ruleSet = kind === 'RESEARCH' ? { ...DEFAULT_RULES, options: [...DEFAULT_RULES.options, 'cleanDescriptors'] } : DEFAULT_RULES;
  const rules = ruleSet as unknown as Prisma.InputJsonValue;
  return db.pool.create({
    data: { name, aeTitle, kind, description, secret: randomBytes(32).toString('hex'), rules, ruleVersions: { create: { version: 1, rules } } },
  });
}

export async function seedDemo(opts: { pacsHost: string; pacsPort: number }) {
  const e = env();
  if (e.TRIBUTARY_MODE !== 'demo') throw new Error('seedDemo runs in demo mode only');
  const admin = await ensureUser(e.DEMO_ADMIN_EMAIL, 'Demo Admin', 'ADMIN', e.DEMO_ADMIN_PASSWORD);
  // Separation of duties: the admin owns no pool (lib/pools/members-guard.ts); the cardiac pool's
  // owner is a researcher account.
  const owner = await ensureUser(DEMO.ownerEmail, 'Olu Owner', 'RESEARCHER', DEMO.demoUserPassword);
  const coord = await ensureUser(DEMO.coordinatorEmail, 'Casey Coordinator', 'COORDINATOR', DEMO.demoUserPassword);
  const researcher = await ensureUser(DEMO.researcherEmail, 'Riley Researcher', 'RESEARCHER', DEMO.demoUserPassword);
  const neuro = await ensureUser(DEMO.otherResearcherEmail, 'Noa Neuro', 'RESEARCHER', DEMO.demoUserPassword);

  const queryPool = await ensurePool('PACS query AE', DEMO.queryAe, 'INFRASTRUCTURE', 'Calling AE title the PACS allows to query (C-FIND).');
  const receivePool = await ensurePool('PACS receiving AE', DEMO.receiveAe, 'INFRASTRUCTURE', 'C-MOVE destination the PACS knows; instances are staged here, then de-identified into research pools.');
  const cardio = await ensurePool('Cardiac CT cohort', DEMO.researchAe, 'RESEARCH', 'Demo research pool: coronary CT and cardiac MR, de-identified with the basic profile and Clean Descriptors (descriptions kept, cleaned).');
  const neuroPool = await ensurePool('Neuro MR study', DEMO.otherAe, 'RESEARCH', 'A second research pool, invisible to the cardiac team.');

  const members: [string, string, 'OWNER' | 'COORDINATOR' | 'RESEARCHER'][] = [
    [cardio.id, owner.id, 'OWNER'],
    [cardio.id, coord.id, 'COORDINATOR'],
    [cardio.id, researcher.id, 'RESEARCHER'],
    [neuroPool.id, neuro.id, 'OWNER'],
    [neuroPool.id, coord.id, 'COORDINATOR'],
  ];
  for (const [poolId, userId, role] of members) {
    await db.poolMember.upsert({ where: { poolId_userId: { poolId, userId } }, create: { poolId, userId, role }, update: {} });
  }

  const device =
    (await db.device.findUnique({ where: { name: 'Demo PACS (Orthanc)' } })) ??
    (await db.device.create({
      data: { name: 'Demo PACS (Orthanc)', aeTitle: DEMO.pacsAe, host: opts.pacsHost, port: opts.pacsPort, description: 'Orthanc started by `npm run demo`, holding synthetic patients.' },
    }));
  if (device.host !== opts.pacsHost || device.port !== opts.pacsPort) await db.device.update({ where: { id: device.id }, data: { host: opts.pacsHost, port: opts.pacsPort } });
  if (!(await db.connector.findUnique({ where: { name: 'Demo PACS' } }))) {
    await db.connector.create({
      data: { name: 'Demo PACS', type: 'DICOM', deviceId: device.id, queryPoolId: queryPool.id, receivingPoolId: receivePool.id, maxAssociations: 2 },
    });
  }
  return { admin, coordinator: coord, researcher, pools: { queryPool, receivePool, cardio, neuro: neuroPool } };
}
