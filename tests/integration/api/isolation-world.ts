/**
 * The world of the isolation tests: pool A's members (who call) and pool B's resources (what they
 * must not reach). Capabilities extend it with isolation-world.<capability>.ts files, which
 * buildIsolationWorld() finds by name. Used by the REST isolation test (isolation.test.ts) and
 * the page isolation test (tests/integration/pages/isolation.test.ts).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ZodType } from 'zod';
import type { Endpoint } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { storageRoot } from '@/lib/storage';
import type { CallResult } from '../../helpers/api';
import { makeConnector, makePool, makeUser, suffix } from '../../helpers/fixtures';

/** A call made in pool A that names pool B's resources in its body or query. */
export interface CrossInput {
  body?: unknown;
  query?: Record<string, string>;
  /**
   * The expected answer, when it is not 403/404: endpoints that work item by item answer 200
   * and report each foreign id as not found. The answer may repeat what the caller sent.
   */
  answer?: (res: CallResult, who: string) => void;
  /** Why this endpoint's ids are not pool resources (then no cross call is made). */
  exempt?: string;
}

export interface IsolationWorld {
  /** Ids of the base world's rows. */
  ids: Record<string, string>;
  /** Path parameter values, by name: every {name} in any endpoint path needs one (pointing into pool B). */
  params: Record<string, string>;
  /**
   * The resource of pool B (or a global one, for admin endpoints) each `/<segment>/{id}` path
   * names, by its first segment: /tokens/{id} gets B's owner's token, /queries/{id} B's query.
   */
  resourcesB: Record<string, string>;
  /**
   * Path parameters that name something inside a pool (studyId, quarantineId, table, version…),
   * with a lookup saying whether the world's sample for it exists in a given pool. The sample
   * must exist in pool B and not in pool A.
   */
  subIds: Record<string, (poolId: string) => Promise<boolean>>;
  /** Sample body per endpoint name (required for every endpoint that declares a body). */
  bodies: Record<string, unknown>;
  /** Pool-A calls naming B's resources, per endpoint whose body or query carries ids. */
  crossInputs: Record<string, CrossInput>;
  /** Strings of pool B that must never appear in an answer to pool A's members. */
  markers: string[];
  /** API tokens of pool A's members, by description. */
  tokens: Record<string, string>;
  poolA: { id: string };
  poolB: { id: string; name: string };
  queryB: string;
  retrievalB: string;
  /** Extra checks that pool B is unchanged after every call. */
  checks: (() => Promise<void>)[];
  /** Undo what other test files must not see (e.g. staged rows). */
  cleanups: (() => Promise<void>)[];
}

export type WorldExtension = (w: IsolationWorld) => Promise<{
  params?: Record<string, string>;
  resourcesB?: Record<string, string>;
  subIds?: Record<string, (poolId: string) => Promise<boolean>>;
  bodies?: Record<string, unknown>;
  crossInputs?: Record<string, CrossInput>;
  markers?: string[];
  check?: () => Promise<void>;
  cleanup?: () => Promise<void>;
}>;

// Each capability adds its own pool-B resources, path parameters, sample bodies and markers in
// tests/integration/api/isolation-world.<capability>.ts (export default a WorldExtension).
const extensions = Object.values(import.meta.glob<{ default: WorldExtension }>('./isolation-world.*.ts', { eager: true })).map((m) => m.default);

export async function buildIsolationWorld(): Promise<IsolationWorld> {
  const s = suffix();
  const [ownerA, coordA, researcherA, ownerB, coordB] = await Promise.all([
    makeUser('RESEARCHER'),
    makeUser('COORDINATOR'),
    makeUser('RESEARCHER'),
    makeUser('RESEARCHER'),
    makeUser('COORDINATOR'),
  ]);
  const poolA = await makePool({ members: [{ userId: ownerA.id, role: 'OWNER' }, { userId: coordA.id, role: 'COORDINATOR' }, { userId: researcherA.id, role: 'RESEARCHER' }] });
  const poolB = await makePool({ members: [{ userId: ownerB.id, role: 'OWNER' }, { userId: coordB.id, role: 'COORDINATOR' }] });
  await db.pool.update({ where: { id: poolB.id }, data: { name: `Secret B ${s}`, description: `B-DESCRIPTION-${s}` } });
  const { connector, device } = await makeConnector({ pacsAe: 'ISO_PACS', port: 1 });

  // Pool B's index: a study with a file on disk.
  const study = await db.study.create({ data: { poolId: poolB.id, studyInstanceUid: `2.25.9${Date.now()}1`, patientId: `RB-MARKER-${s}`, patientName: `RB-NAME-${s}`, studyDescription: `B-STUDY-${s}`, numSeries: 1, numInstances: 1, modalities: 'CT' } });
  const series = await db.series.create({ data: { poolId: poolB.id, studyId: study.id, seriesInstanceUid: `2.25.9${Date.now()}2`, modality: 'CT', seriesDescription: `B-SERIES-${s}` } });
  const rel = path.join('pools', poolB.id, 'x.dcm');
  await fs.mkdir(path.join(storageRoot(), 'pools', poolB.id), { recursive: true });
  await fs.writeFile(path.join(storageRoot(), rel), Buffer.concat([Buffer.alloc(128), Buffer.from(`DICM B-FILE-${s}`)]));
  const instance = await db.instance.create({
    data: { poolId: poolB.id, seriesId: series.id, sopInstanceUid: `2.25.9${Date.now()}3`, sopClassUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxUid: '1.2.840.10008.1.2.1', path: rel, size: 150, ruleVersion: 1 },
  });
  // Pool B's query, result and retrieval (PHI of B's coordinator).
  const query = await db.query.create({
    data: { poolId: poolB.id, connectorId: connector.id, createdById: coordB.id, status: 'DONE', items: { create: { rowNumber: 1, patientId: `MRN-B-${s}`, status: 'DONE', resultCount: 1 } } },
    include: { items: true },
  });
  const result = await db.queryResult.create({ data: { queryId: query.id, itemId: query.items[0].id, studyInstanceUid: `1.2.3.${Date.now()}`, patientId: `MRN-B-${s}`, patientName: `SECRET^B${s}` } });
  const retrieval = await db.retrieval.create({ data: { queryId: query.id, resultId: result.id, poolId: poolB.id, connectorId: connector.id, studyInstanceUid: result.studyInstanceUid, state: 'FAILED', lastError: `B-ERROR-${s}` } });
  const tokenB = await createApiToken({ userId: ownerB.id, name: `B token ${s}` });

  const tokens: Record<string, string> = {
    'researcher of A': (await createApiToken({ userId: researcherA.id, name: 'a' })).token,
    'coordinator of A': (await createApiToken({ userId: coordA.id, name: 'a' })).token,
    'owner of A': (await createApiToken({ userId: ownerA.id, name: 'a' })).token,
    'token scoped to A (owner)': (await createApiToken({ userId: ownerA.id, name: 'a', poolId: poolA.id })).token,
  };
  const params = {
    id: poolB.id,
    studyId: study.id,
    instanceId: instance.id,
    userId: ownerB.id,
    queue: 'find',
    jobId: 'nothing',
  };
  const bodies: Record<string, unknown> = {
    createUser: { email: `x${s}@t.local`, name: 'X', role: 'ADMIN', password: 'long enough password' },
    updateUser: { role: 'ADMIN' },
    createToken: { name: 'steal', poolId: poolB.id },
    createDevice: { name: `d${s}`, aeTitle: 'X', host: 'h', port: 104 },
    updateDevice: { name: `d2${s}` },
    createPool: { name: `p${s}`, aeTitle: `P${s}` },
    updatePool: { name: `hijacked ${s}` },
    setPoolMembers: { members: [{ userId: researcherA.id, role: 'OWNER' }] },
    addPoolMember: { email: researcherA.email, role: 'OWNER' },
    updatePoolMember: { role: 'RESEARCHER' },
    createConnector: { name: `c${s}`, deviceId: device.id, queryPoolId: poolA.id, receivingPoolId: poolB.id },
    updateConnector: { name: `c2${s}`, deviceId: device.id, queryPoolId: poolA.id, receivingPoolId: poolB.id },
    createQuery: { poolId: poolB.id, connectorId: connector.id, items: [{ patientId: '12345' }] },
    retrieveQuery: { studyInstanceUids: [result.studyInstanceUid] },
  };
  const inPool = {
    study: async (poolId: string) => (await db.study.count({ where: { id: study.id, poolId } })) > 0,
    instance: async (poolId: string) => (await db.instance.count({ where: { id: instance.id, poolId } })) > 0,
    member: async (poolId: string) => (await db.poolMember.count({ where: { userId: ownerB.id, poolId } })) > 0,
  };
  const base: IsolationWorld = {
    ids: { poolA: poolA.id, poolB: poolB.id, ownerA: ownerA.id, coordA: coordA.id, researcherA: researcherA.id, ownerB: ownerB.id, coordB: coordB.id, connector: connector.id, device: device.id, studyB: study.id, studyUidB: study.studyInstanceUid, seriesB: series.id, instanceB: instance.id, queryB: query.id, retrievalB: retrieval.id, tokenB: tokenB.id },
    params,
    resourcesB: {
      pools: poolB.id,
      queries: query.id,
      retrievals: retrieval.id,
      tokens: tokenB.id,
      users: ownerB.id,
      devices: device.id,
      connectors: connector.id,
    },
    subIds: { studyId: inPool.study, instanceId: inPool.instance, userId: inPool.member },
    tokens,
    bodies,
    crossInputs: {
      setPoolMembers: { exempt: 'users are not pool resources: an owner may add any user (by id or e-mail); tests/integration/api/members.test.ts covers it' },
      updatePool: { exempt: 'its ids are members (users) and allowed devices, neither a pool resource; members.test.ts covers the member rules' },
    },
    markers: [poolB.id, `Secret B ${s}`, poolB.aeTitle, `B-DESCRIPTION-${s}`, `RB-MARKER-${s}`, `RB-NAME-${s}`, `B-STUDY-${s}`, `B-SERIES-${s}`, study.id, instance.id, study.studyInstanceUid, series.seriesInstanceUid, instance.sopInstanceUid, `B-FILE-${s}`, `MRN-B-${s}`, `SECRET^B${s}`, `B-ERROR-${s}`, query.id, retrieval.id, tokenB.id, tokenB.prefix, `B token ${s}`],
    poolA: { id: poolA.id },
    poolB: { id: poolB.id, name: `Secret B ${s}` },
    queryB: query.id,
    retrievalB: retrieval.id,
    checks: [
      async () => {
        const t = await db.apiToken.findUniqueOrThrow({ where: { id: tokenB.id } });
        if (t.revokedAt) throw new Error('pool B owner’s token was revoked');
      },
    ],
    cleanups: [],
  };
  for (const ext of extensions) {
    const more = await ext(base);
    Object.assign(base.params, more.params ?? {});
    Object.assign(base.resourcesB, more.resourcesB ?? {});
    Object.assign(base.subIds, more.subIds ?? {});
    Object.assign(base.bodies, more.bodies ?? {});
    Object.assign(base.crossInputs, more.crossInputs ?? {});
    base.markers.push(...(more.markers ?? []));
    if (more.check) base.checks.push(more.check);
    if (more.cleanup) base.cleanups.push(more.cleanup);
  }
  return base;
}

// ---------------------------------------------------------------------------------------------
// Reading the contract

/** Path parameter names of an endpoint, in order. */
export function pathParams(ep: Pick<Endpoint, 'path'>): string[] {
  return [...ep.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
}

/** The first path segment when the path names a resource by `{id}` there (`/queries/{id}/…` -> queries). */
export function resourceSegment(ep: Pick<Endpoint, 'path'>): string | null {
  const m = /^\/([^/{}]+)\/\{id\}/.exec(ep.path);
  return m ? m[1] : null;
}

/**
 * Keys of a zod schema that carry ids (`ids`, `studyIds`, `stagedInstanceId`, `members[].userId`…),
 * as dotted paths. Used to find the endpoints whose body or query can name another pool's rows.
 */
export function idKeys(schema: ZodType | undefined, at = ''): string[] {
  const def = (schema as unknown as { _zod?: { def?: Record<string, unknown> } } | undefined)?._zod?.def;
  if (!def) return [];
  switch (def.type) {
    case 'object':
      return Object.entries(def.shape as Record<string, ZodType>).flatMap(([k, v]) => [...(/^ids$|Ids?$/.test(k) ? [at + k] : []), ...idKeys(v, `${at}${k}.`)]);
    case 'array':
      return idKeys(def.element as ZodType, `${at}[].`);
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return idKeys(def.innerType as ZodType, at);
    case 'pipe':
      return [...new Set([...idKeys(def.in as ZodType, at), ...idKeys(def.out as ZodType, at)])];
    default:
      return [];
  }
}
