/**
 * Preview: what rules being edited (not yet saved) would do to one sample instance of the pool,
 * as a before/after table of every attribute (removed, changed, kept, added), plus the quarantine
 * verdict. The sample is a staged instance of a retrieval into this pool, a file the owner
 * uploads (read in memory, never stored), or one instance fetched from the connector's PACS for a
 * study this pool's own queries found (a QueryResult of a query of this pool): C-GET connectors
 * only (it comes back on our own connection into a memory sink, lib/receive/sink.ts memorySink;
 * no staging row, no file left), under the connector's association lease, ignoring its schedule
 * window (one instance, like the capability check). C-MOVE connectors offer staged samples only:
 * their instances arrive at the SCP worker, which cannot hand bytes back to this request.
 *
 * The "before" column is the original, identifying data, so preview is for pool owners only
 * (access 'pool:identity'); each preview is audited with counts, never values. Nothing is written:
 * the research identity is the one the patient has, or would get (no identity row is created).
 */
import fs from 'node:fs/promises';
import { type PreviewResult, previewInstance } from '../anonymize/engine';
import { parsePart10, valueString } from '../anonymize/parse';
import { canonical, compileRules } from '../anonymize/profile';
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { db, type Pool } from '../db';
import { PREVIEW_MAX_BYTES } from '../api/endpoints/deid';
import { AppError } from '../errors';
import { type IdentitySource, planPatientIdentity } from './identity';
import { loadLookupTables, lookupTablesUsedBy } from './lookups';
import { checkedRules, currentRules } from './rules';
import { keptDirectIdentifiers } from '../anonymize/direct-identifiers';
import { sourceFor, sourceInclude } from '../connectors/sources';
import { acquireAssociation } from '../jobs/leases';
import { memorySink } from '../receive/sink';

export { PREVIEW_MAX_BYTES };

export function previewMaxBytes(): number {
  return PREVIEW_MAX_BYTES;
}

/** Staged instances of retrievals into this pool, newest first: samples for the preview. */
export async function listPreviewSamples(poolId: string, limit = 50) {
  const rows = await db.stagedInstance.findMany({
    where: { retrieval: { poolId } },
    orderBy: { receivedAt: 'desc' },
    take: limit,
    select: { id: true, receivedAt: true, sopClassUid: true, size: true, retrievalId: true },
  });
  return rows.map((r) => ({ id: r.id, receivedAt: r.receivedAt, sopClassUid: r.sopClassUid, size: r.size, retrievalId: r.retrievalId }));
}

/**
 * Studies this pool's queries found, usable as PACS samples (newest first). Only what the owner
 * needs to pick one: the row's research ID, study date, modalities, counts, and the connector.
 * `fetchable` is false for connectors whose retrieve cannot bring an instance back to the app.
 */
export async function listPacsPreviewStudies(poolId: string, limit = 50) {
  const rows = await db.queryResult.findMany({
    where: { query: { poolId } },
    orderBy: [{ query: { createdAt: 'desc' } }, { queryId: 'desc' }, { studyDate: 'desc' }],
    take: limit,
    select: {
      id: true, studyInstanceUid: true, studyDate: true, modalities: true, numInstances: true,
      item: { select: { researchId: true } },
      query: { select: { connector: { select: { id: true, name: true, type: true, retrieveMethod: true } } } },
    },
  });
  // A study found by several queries through one connector is listed once (its newest result).
  const seen = new Set<string>();
  const unique = rows.filter((r) => {
    const k = `${r.query.connector.id}|${r.studyInstanceUid}`;
    return !seen.has(k) && !!seen.add(k);
  });
  return unique.map((r) => ({
    id: r.id,
    researchId: r.item.researchId ?? null,
    studyDate: r.studyDate,
    modalities: r.modalities,
    numInstances: r.numInstances,
    connectorName: r.query.connector.name,
    retrieveMethod: r.query.connector.retrieveMethod,
    fetchable: pacsFetchable(r.query.connector),
  }));
}

function pacsFetchable(c: { type: string; retrieveMethod: string }) {
  return c.type === 'DICOM' && c.retrieveMethod === 'CGET';
}

/**
 * ONE instance of a study found by this pool's queries, fetched from the connector's PACS into
 * memory (never stored). 404 unless the QueryResult belongs to a query of this pool.
 */
async function fetchPacsSample(poolId: string, queryResultId: string, maxBytes: number) {
  const res = await db.queryResult.findFirst({
    where: { id: queryResultId, query: { poolId } },
    select: {
      id: true, studyInstanceUid: true, patientId: true,
      item: { select: { researchId: true, researchName: true } },
      query: { select: { connector: { include: sourceInclude } } },
    },
  });
  if (!res) throw new AppError('NOT_FOUND', 'No such study in this pool’s query results');
  const c = res.query.connector;
  if (!pacsFetchable(c)) {
    throw new AppError('CONFLICT', 'This connector retrieves with C-MOVE: its instances arrive at the receiving AE, not here, so it offers staged samples only (or upload a file)');
  }
  const source = sourceFor(c);
  const lease = await acquireAssociation(c.id, c.maxAssociations, 'interactive', { ttlMs: 120_000 });
  if (!lease) throw new AppError('CONFLICT', 'The connector is using all its associations right now; try again in a moment');
  try {
    const series = await source.findSeries(res.studyInstanceUid, { timeoutMs: 20_000 });
    let pick: { series: string; sop: string; sopClass?: string } | null = null;
    for (const s of series) {
      const instances = await source.findInstances(res.studyInstanceUid, s.seriesInstanceUid, { timeoutMs: 20_000 });
      const first = instances.find((i) => i.sopInstanceUid);
      if (first) {
        pick = { series: s.seriesInstanceUid, sop: first.sopInstanceUid, sopClass: first.sopClassUid || undefined };
        break;
      }
    }
    if (!pick) throw new AppError('NOT_FOUND', 'The PACS lists no instance of this study');
    const sink = await memorySink(poolId, res.studyInstanceUid, maxBytes, { sourceAe: c.device?.aeTitle });
    const r = await source.retrieve(
      { studyInstanceUid: res.studyInstanceUid, seriesInstanceUid: pick.series, sopInstanceUids: [pick.sop] },
      { retrievalId: null, sink, timeoutMs: 60_000, sopClassUids: pick.sopClass ? [pick.sopClass] : undefined },
    );
    if (sink.tooLarge) throw new AppError('PAYLOAD_TOO_LARGE', `Samples are limited to ${Math.round(maxBytes / 1024 / 1024)} MB`);
    if (!sink.bytes) throw new AppError('DICOM_NETWORK', `The PACS did not send the instance (status ${r.status})`);
    return {
      bytes: sink.bytes,
      connectorId: c.id,
      patient: { sourcePatientId: res.patientId, researchId: res.item.researchId, researchName: res.item.researchName },
    };
  } finally {
    await lease.release();
  }
}

export interface PreviewResponse extends PreviewResult {
  source: 'staged' | 'upload' | 'pacs';
  /** Where the research identity shown came from (an existing identity, the query row, a lookup table, the pseudonym). */
  identitySource: IdentitySource;
  fingerprint: string;
  /** The version these rules would be saved as (the current one when unchanged). */
  ruleVersion: number;
  /** Direct identifiers these rules keep (lib/anonymize/direct-identifiers.ts): shown as a warning. */
  keepsDirectIdentifiers: string[];
}

export async function previewRules(
  actor: Actor,
  pool: Pick<Pool, 'id' | 'secret' | 'rules' | 'ruleVersion'>,
  input: { rules?: unknown; stagedInstanceId?: string; queryResultId?: string; file?: File },
): Promise<PreviewResponse> {
  const rules = input.rules === undefined ? currentRules(pool) : checkedRules(input.rules);
  const compiled = compileRules(rules);
  if ([input.stagedInstanceId, input.queryResultId, input.file].filter(Boolean).length !== 1) {
    throw new AppError('VALIDATION', 'Choose one sample: a staged instance, a study from the PACS, or a file', { sample: ['choose a staged instance, a PACS study or upload a file'] });
  }
  const max = previewMaxBytes();
  let bytes: Buffer;
  let patient: { sourcePatientId: string; researchId?: string | null; researchName?: string | null };
  let source: PreviewResponse['source'];
  let connectorId: string | undefined;
  if (input.queryResultId) {
    const got = await fetchPacsSample(pool.id, input.queryResultId, max);
    bytes = got.bytes;
    patient = got.patient;
    connectorId = got.connectorId;
    source = 'pacs';
  } else if (input.stagedInstanceId) {
    const staged = await db.stagedInstance.findFirst({
      where: { id: input.stagedInstanceId, retrieval: { poolId: pool.id } },
      select: { id: true, path: true, retrieval: { select: { result: { select: { patientId: true, item: { select: { researchId: true, researchName: true } } } } } } },
    });
    if (!staged?.retrieval) throw new AppError('NOT_FOUND', 'No such staged instance in this pool (it may have been de-identified meanwhile)');
    const st = await fs.stat(staged.path).catch(() => null);
    if (!st) throw new AppError('NOT_FOUND', 'The staged instance is gone (it was de-identified meanwhile)');
    if (st.size > max) throw new AppError('PAYLOAD_TOO_LARGE', `Samples are limited to ${Math.round(max / 1024 / 1024)} MB`);
    bytes = await fs.readFile(staged.path);
    const res = staged.retrieval.result;
    patient = { sourcePatientId: res.patientId, researchId: res.item.researchId, researchName: res.item.researchName };
    source = 'staged';
  } else {
    const file = input.file!;
    if (file.size > max) throw new AppError('PAYLOAD_TOO_LARGE', `Samples are limited to ${Math.round(max / 1024 / 1024)} MB`);
    bytes = Buffer.from(await file.arrayBuffer());
    if (bytes.length > max) throw new AppError('PAYLOAD_TOO_LARGE', `Samples are limited to ${Math.round(max / 1024 / 1024)} MB`);
    const parsed = parsePart10(bytes);
    const el = parsed.els.find((e) => e.tag === 0x00100020);
    patient = { sourcePatientId: el ? valueString(parsed.buf, el).trim() : '' };
    source = 'upload';
  }

  const planned = await planPatientIdentity({ poolId: pool.id, poolSecret: pool.secret, ...patient });
  const tables = lookupTablesUsedBy(rules);
  const identity = tables.length ? { ...planned.identity, lookups: await loadLookupTables(pool.id, tables) } : planned.identity;
  const unchanged = canonical(rules) === canonical(currentRules(pool));
  const ruleVersion = unchanged ? pool.ruleVersion : pool.ruleVersion + 1;
  const result = previewInstance(bytes, compiled, { uidSecret: pool.secret }, identity, { ruleVersion });
  await audit({
    userId: actor.userId,
    action: 'pool.rules-preview',
    poolId: pool.id,
    targetType: source === 'staged' ? 'staged-instance' : source === 'pacs' ? 'query-result' : 'upload',
    targetId: input.stagedInstanceId ?? input.queryResultId,
    detail: {
      source,
      ...(connectorId ? { connectorId } : {}),
      bytes: bytes.length,
      fingerprint: compiled.fingerprint,
      removed: result.counts.removed,
      changed: result.counts.changed,
      kept: result.counts.kept,
      added: result.counts.added,
      quarantined: !!result.quarantine,
    },
  });
  return { ...result, source, identitySource: planned.source, fingerprint: compiled.fingerprint, ruleVersion, keepsDirectIdentifiers: keptDirectIdentifiers(compiled) };
}
