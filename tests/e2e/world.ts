/** The users, pools and connector the browser tests use; made fresh for each run. */
import { randomBytes } from 'node:crypto';
import { DEFAULT_RULES } from '../../lib/anonymize/rules';
import { hashPassword } from '../../lib/auth/password';
import { db, type Prisma } from '../../lib/db';
import type { Corpus } from '../../lib/synthetic';

export interface E2eWorld {
  password: string;
  users: { admin: string; ownerA: string; coordinator: string; researcherA: string; researcherB: string };
  /** v: the viewer spec's pool (researcher A and owner A; not researcher B), with Clean Descriptors on. */
  pools: { a: string; b: string; v: string };
  connectorId: string;
  /** The run's Orthanc DICOMweb base URL (set by global-setup). */
  pacsWebUrl?: string;
  patients: { patientId: string; patientName: string; birthDate: string; accessionNumbers: string[]; numInstances: number }[];
}

export async function makeE2eWorld(opts: { pacsPort: number; corpus: Corpus }): Promise<E2eWorld> {
  const password = 'e2e-password-123';
  const hash = await hashPassword(password);
  const mk = (email: string, name: string, role: 'ADMIN' | 'COORDINATOR' | 'RESEARCHER') => db.user.create({ data: { email, name, role, passwordHash: hash } });
  const admin = await mk('admin@e2e.test', 'Ada Admin', 'ADMIN');
  // Separation of duties: the administrator owns no pool (lib/pools/members-guard.ts).
  const ownerA = await mk('owner.a@e2e.test', 'Oli Owner', 'RESEARCHER');
  const coordinator = await mk('coordinator@e2e.test', 'Cory Coordinator', 'COORDINATOR');
  const researcherA = await mk('researcher.a@e2e.test', 'Rae Research', 'RESEARCHER');
  const researcherB = await mk('researcher.b@e2e.test', 'Bo Other', 'RESEARCHER');
  const rules = DEFAULT_RULES as unknown as Prisma.InputJsonValue;
  const viewRules = { ...DEFAULT_RULES, options: [...DEFAULT_RULES.options, 'cleanDescriptors'] } as unknown as Prisma.InputJsonValue;
  const pool = (name: string, aeTitle: string, kind: 'RESEARCH' | 'INFRASTRUCTURE', members: { userId: string; role: 'OWNER' | 'COORDINATOR' | 'RESEARCHER' }[] = []) =>
    db.pool.create({
      data: { name, aeTitle, kind, secret: randomBytes(32).toString('hex'), rules, ruleVersions: { create: { version: 1, rules } }, members: { create: members } },
    });
  const q = await pool('E2E query AE', 'E2E_QUERY', 'INFRASTRUCTURE');
  const r = await pool('E2E receiving AE', 'E2E_RECEIVE', 'INFRASTRUCTURE');
  const a = await pool('Cardiac cohort', 'E2E_CARDIO', 'RESEARCH', [
    { userId: ownerA.id, role: 'OWNER' },
    { userId: coordinator.id, role: 'COORDINATOR' },
    { userId: researcherA.id, role: 'RESEARCHER' },
  ]);
  const b = await pool('Neuro cohort', 'E2E_NEURO', 'RESEARCH', [
    { userId: researcherB.id, role: 'OWNER' },
    { userId: coordinator.id, role: 'COORDINATOR' },
  ]);
  const v = await db.pool.create({
    data: {
      name: 'Imaging cohort',
      aeTitle: 'E2E_VIEW',
      kind: 'RESEARCH',
      description: 'Studies for the viewer tests, de-identified with Clean Descriptors.',
      secret: randomBytes(32).toString('hex'),
      rules: viewRules,
      ruleVersions: { create: { version: 1, rules: viewRules } },
      members: { create: [{ userId: ownerA.id, role: 'OWNER' }, { userId: researcherA.id, role: 'RESEARCHER' }] },
    },
  });
  const device = await db.device.create({ data: { name: 'E2E PACS', aeTitle: 'E2E_PACS', host: '127.0.0.1', port: opts.pacsPort } });
  const connector = await db.connector.create({
    data: { name: 'E2E PACS', deviceId: device.id, queryPoolId: q.id, receivingPoolId: r.id, maxAssociations: 2 },
  });
  await db.$disconnect();
  return {
    password,
    users: { admin: admin.email, ownerA: ownerA.email, coordinator: coordinator.email, researcherA: researcherA.email, researcherB: researcherB.email },
    pools: { a: a.id, b: b.id, v: v.id },
    connectorId: connector.id,
    patients: opts.corpus.patients.map((p) => ({
      patientId: p.patientId,
      patientName: p.patientName,
      birthDate: p.birthDate,
      accessionNumbers: p.studies.map((s) => s.accessionNumber),
      numInstances: p.studies.reduce((n, s) => n + s.numInstances, 0),
    })),
  };
}
