/**
 * Test data made by each test for itself (no shared seeded user): users, pools, a device and a
 * connector pointing at a private Orthanc. Names carry a random suffix so tests never collide.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_RULES } from '@/lib/anonymize/rules';
import type { Actor } from '@/lib/auth/actor';
import { hashPassword } from '@/lib/auth/password';
import { db, type Prisma } from '@/lib/db';

export const suffix = () => randomBytes(3).toString('hex').toUpperCase();

// A password hash costs ~0.5 s at production scrypt parameters: tests hash each password once.
const hashes = new Map<string, Promise<string>>();
const hashOnce = (password: string) => {
  if (!hashes.has(password)) hashes.set(password, hashPassword(password));
  return hashes.get(password)!;
};

export async function makeUser(role: 'ADMIN' | 'COORDINATOR' | 'RESEARCHER' = 'RESEARCHER', password = 'correct horse battery') {
  const s = suffix().toLowerCase();
  const user = await db.user.create({
    data: { email: `${role.toLowerCase()}-${s}@test.local`, name: `${role} ${s}`, role, passwordHash: await hashOnce(password) },
  });
  return { ...user, password };
}

export function actorOf(u: { id: string; email: string; name: string; role: 'ADMIN' | 'COORDINATOR' | 'RESEARCHER' }, tokenPoolId: string | null = null): Actor {
  return { userId: u.id, email: u.email, name: u.name, role: u.role, tokenPoolId, via: tokenPoolId ? 'token' : 'session' };
}

export async function makePool(opts: { kind?: 'RESEARCH' | 'INFRASTRUCTURE'; aeTitle?: string; members?: { userId: string; role: 'OWNER' | 'COORDINATOR' | 'RESEARCHER' }[]; rules?: unknown } = {}) {
  const s = suffix();
  const rules = (opts.rules ?? DEFAULT_RULES) as Prisma.InputJsonValue;
  return db.pool.create({
    data: {
      name: `Pool ${s}`,
      aeTitle: opts.aeTitle ?? `T_${s}`,
      kind: opts.kind ?? 'RESEARCH',
      secret: randomBytes(32).toString('hex'),
      rules,
      ruleVersions: { create: { version: 1, rules } },
      members: opts.members?.length ? { create: opts.members } : undefined,
    },
  });
}

/**
 * A device + query pool + receiving pool + connector for a PACS at host:port with AE `pacsAe`.
 * `queryAe` / `receiveAe` fix the two pools' AE titles (when the PACS was configured with them
 * before the test made its pools); otherwise they are random.
 */
export async function makeConnector(opts: { pacsAe: string; host?: string; port: number; maxAssociations?: number; schedule?: string | null; queryAe?: string; receiveAe?: string; retrieveMethod?: 'CMOVE' | 'CGET' }) {
  const s = suffix();
  const device = await db.device.create({ data: { name: `PACS ${s}`, aeTitle: opts.pacsAe, host: opts.host ?? '127.0.0.1', port: opts.port } });
  const queryPool = await makePool({ kind: 'INFRASTRUCTURE', aeTitle: opts.queryAe });
  const receivingPool = await makePool({ kind: 'INFRASTRUCTURE', aeTitle: opts.receiveAe });
  const connector = await db.connector.create({
    data: {
      name: `Connector ${s}`,
      deviceId: device.id,
      queryPoolId: queryPool.id,
      receivingPoolId: receivingPool.id,
      maxAssociations: opts.maxAssociations ?? 2,
      schedule: opts.schedule ?? null,
      retrieveMethod: opts.retrieveMethod ?? 'CMOVE',
    },
  });
  return { device, queryPool, receivingPool, connector };
}

export async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const end = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${opts.what ?? 'condition'}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}

/** A DICOMweb connector (no device) with its pools; `secret` is encrypted as the API would. */
export async function makeWebConnector(opts: {
  baseUrl: string;
  auth?: { type: 'NONE' } | { type: 'BASIC'; username: string; password: string } | { type: 'BEARER'; token: string } | { type: 'OAUTH2'; tokenUrl: string; clientId: string; clientSecret: string; scope?: string };
  maxAssociations?: number;
  schedule?: string | null;
  extra?: Record<string, unknown>;
}) {
  const { encryptSecret } = await import('@/lib/secrets');
  const s = suffix();
  const queryPool = await makePool({ kind: 'INFRASTRUCTURE' });
  const receivingPool = await makePool({ kind: 'INFRASTRUCTURE' });
  const a = opts.auth ?? { type: 'NONE' as const };
  const connector = await db.connector.create({
    data: {
      name: `Web connector ${s}`,
      type: 'DICOMWEB',
      retrieveMethod: 'WADORS',
      queryPoolId: queryPool.id,
      receivingPoolId: receivingPool.id,
      maxAssociations: opts.maxAssociations ?? 2,
      schedule: opts.schedule ?? null,
      webBaseUrl: opts.baseUrl,
      webAuthType: a.type,
      webUsername: a.type === 'BASIC' ? a.username : a.type === 'OAUTH2' ? a.clientId : null,
      webSecret: a.type === 'BASIC' ? encryptSecret(a.password) : a.type === 'BEARER' ? encryptSecret(a.token) : a.type === 'OAUTH2' ? encryptSecret(a.clientSecret) : null,
      webTokenUrl: a.type === 'OAUTH2' ? a.tokenUrl : null,
      webScope: a.type === 'OAUTH2' ? (a.scope ?? null) : null,
      ...(opts.extra ?? {}),
    },
  });
  return { queryPool, receivingPool, connector };
}
