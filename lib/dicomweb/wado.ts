/**
 * WADO-RS (instances, metadata, frames, bulk data) and WADO-URI for one pool, from the pool's
 * index and its de-identified files. Every lookup is scoped by the pool id that access control
 * checked (and by the viewer token's studies, if any), so another pool's UIDs find nothing.
 */
import fs from 'node:fs/promises';
import { db } from '../db';
import { isSafeUid } from '../dicom/uids';
import { absolute } from '../storage';
import { logger } from '../logger';
import { negotiateInstances, negotiateOctets, negotiatePixels, requireJson } from './accept';
import { auditOnce, type ReadKind } from './audit';
import { bulkLocation, instanceJson, pixelLayout, type Piece, type PixelLayout } from './dataset';
import { badRequest, notAcceptable, notFoundDw } from './errors';
import { MEDIA_DICOM_JSON, TAGS, type DicomJson } from './json';
import { fileChunks, multipartResponse, streamOf, type OutPart } from './multipart';
import type { DicomwebContext, PoolScope } from './route';
import { frameMediaType, TS } from './syntax';

const log = logger('dicomweb');

export interface InstanceRow {
  id: string;
  sopInstanceUid: string;
  sopClassUid: string;
  transferSyntaxUid: string;
  path: string;
  size: number;
  seriesUid: string;
  studyUid: string;
  studyId: string;
}

export function checkUid(uid: string | undefined, what: string): string {
  if (!isSafeUid(uid)) throw badRequest(`Invalid ${what}`);
  return uid;
}

/** Is this study within the caller's scope? (A viewer token names its studies.) */
export function inScope(scope: PoolScope, studyUid: string): boolean {
  return scope.studyUids === null || scope.studyUids.includes(studyUid);
}

/** Instances of a study (and series, and instance) in this pool, in series/instance order. */
export async function findInstances(scope: PoolScope, q: { studyUid?: string; seriesUid?: string; sopUid?: string }): Promise<InstanceRow[]> {
  if (q.studyUid !== undefined && !inScope(scope, q.studyUid)) return [];
  const rows = await db.instance.findMany({
    where: {
      poolId: scope.poolId,
      ...(q.sopUid !== undefined ? { sopInstanceUid: q.sopUid } : {}),
      series: {
        poolId: scope.poolId,
        ...(q.seriesUid !== undefined ? { seriesInstanceUid: q.seriesUid } : {}),
        study: {
          poolId: scope.poolId,
          ...(q.studyUid !== undefined ? { studyInstanceUid: q.studyUid } : {}),
          ...(scope.studyUids !== null ? { studyInstanceUid: q.studyUid ?? { in: scope.studyUids } } : {}),
        },
      },
    },
    select: {
      id: true,
      sopInstanceUid: true,
      sopClassUid: true,
      transferSyntaxUid: true,
      path: true,
      size: true,
      series: { select: { seriesInstanceUid: true, seriesNumber: true, study: { select: { id: true, studyInstanceUid: true } } } },
      instanceNumber: true,
    },
    orderBy: [{ series: { seriesNumber: 'asc' } }, { series: { seriesInstanceUid: 'asc' } }, { instanceNumber: 'asc' }, { sopInstanceUid: 'asc' }],
  });
  return rows.map((r) => ({
    id: r.id,
    sopInstanceUid: r.sopInstanceUid,
    sopClassUid: r.sopClassUid,
    transferSyntaxUid: r.transferSyntaxUid,
    path: r.path,
    size: r.size,
    seriesUid: r.series.seriesInstanceUid,
    studyUid: r.series.study.studyInstanceUid,
    studyId: r.series.study.id,
  }));
}

export function instanceUrl(root: string, r: Pick<InstanceRow, 'studyUid' | 'seriesUid' | 'sopInstanceUid'>): string {
  return `${root}/studies/${r.studyUid}/series/${r.seriesUid}/instances/${r.sopInstanceUid}`;
}

async function audited(c: DicomwebContext<Record<string, string>>, rows: InstanceRow[], kind: ReadKind) {
  for (const studyId of new Set(rows.map((r) => r.studyId))) {
    await auditOnce({ userId: c.actor.userId, poolId: c.pool.id, action: 'study.download', kind, targetType: 'study', targetId: studyId });
  }
}

/** Parts for the instances whose files exist; a missing file is logged (by id) and skipped. */
async function* instanceParts(root: string, rows: InstanceRow[]): AsyncGenerator<OutPart> {
  for (const r of rows) {
    const abs = absolute(r.path);
    try {
      await fs.access(abs);
    } catch {
      log.warn('indexed instance has no file', { instanceId: r.id });
      continue;
    }
    yield {
      contentType: `application/dicom; transfer-syntax=${r.transferSyntaxUid}`,
      contentLocation: instanceUrl(root, r),
      body: () => fileChunks(abs),
    };
  }
}

type Uids = { study?: string; series?: string; instance?: string };

function pathUids(c: DicomwebContext<Uids>): { studyUid?: string; seriesUid?: string; sopUid?: string } {
  return {
    studyUid: c.params.study !== undefined ? checkUid(c.params.study, 'Study Instance UID') : undefined,
    seriesUid: c.params.series !== undefined ? checkUid(c.params.series, 'Series Instance UID') : undefined,
    sopUid: c.params.instance !== undefined ? checkUid(c.params.instance, 'SOP Instance UID') : undefined,
  };
}

const LEVEL_NOT_FOUND = { study: 'Study not found', series: 'Series not found', instance: 'Instance not found' };

function levelOf(q: { seriesUid?: string; sopUid?: string }): keyof typeof LEVEL_NOT_FOUND {
  return q.sopUid ? 'instance' : q.seriesUid ? 'series' : 'study';
}

/** WADO-RS retrieve of a study, series or instance: multipart/related; type="application/dicom". */
export async function retrieveInstances(c: DicomwebContext<Uids>): Promise<Response> {
  const q = pathUids(c);
  const rows = await findInstances(c.scope, q);
  if (!rows.length) throw notFoundDw(LEVEL_NOT_FOUND[levelOf(q)]);
  const single = rows.length === 1 && q.sopUid !== undefined;
  const { multipart } = negotiateInstances(c.req.headers.get('accept'), new Set(rows.map((r) => r.transferSyntaxUid)), single);
  await audited(c, rows, 'retrieve');
  if (!multipart) {
    const r = rows[0];
    return new Response(streamOf(fileChunks(absolute(r.path))), {
      headers: { 'Content-Type': `application/dicom; transfer-syntax=${r.transferSyntaxUid}`, 'Content-Length': String(r.size), 'Cache-Control': 'private, no-store' },
    });
  }
  return multipartResponse(instanceParts(c.root, rows), 'application/dicom');
}

/** One instance's metadata: its dataset as DICOM JSON, bulk values as BulkDataURI. */
export async function metadataOf(root: string, r: InstanceRow): Promise<DicomJson> {
  const url = instanceUrl(root, r);
  const { json, transferSyntaxUid } = await instanceJson(absolute(r.path), { bulkUri: (p) => `${url}/bulkdata/${p}` });
  // What the stored file is encoded in: viewers pick their decoder from it.
  json[TAGS.AvailableTransferSyntaxUID] = { vr: 'UI', Value: [transferSyntaxUid] };
  return json;
}

/**
 * WADO-RS metadata as a JSON array, streamed instance by instance (a few files are read ahead
 * in parallel), so a large study's metadata is never held whole.
 */
export async function retrieveMetadata(c: DicomwebContext<Uids>): Promise<Response> {
  requireJson(c.req.headers.get('accept'));
  const q = pathUids(c);
  const rows = await findInstances(c.scope, q);
  if (!rows.length) throw notFoundDw(LEVEL_NOT_FOUND[levelOf(q)]);
  await audited(c, rows, 'metadata');
  const root = c.root;
  async function* body(): AsyncGenerator<Uint8Array> {
    // Files read ahead in parallel; the answer goes out in pieces of ~64 KB rather than one per
    // instance (a 500-instance series is ~2.4 MB: 40 writes through Next's compression, not 500).
    const AHEAD = 16;
    const PIECE = 64 * 1024;
    const pending: Promise<string | null>[] = [];
    const start = (r: InstanceRow) =>
      metadataOf(root, r).then(
        (json) => JSON.stringify(json),
        (e) => {
          log.warn('metadata of an instance could not be read', { instanceId: r.id, err: e });
          return null;
        },
      );
    let next = 0;
    let piece = '[';
    let first = true;
    while (next < rows.length || pending.length) {
      while (pending.length < AHEAD && next < rows.length) pending.push(start(rows[next++]));
      const json = await pending.shift()!;
      if (json === null) continue;
      piece += (first ? '' : ',') + json;
      first = false;
      if (piece.length >= PIECE) {
        yield Buffer.from(piece);
        piece = '';
      }
    }
    yield Buffer.from(`${piece}]`);
  }
  return new Response(streamOf(body()), { headers: { 'Content-Type': `${MEDIA_DICOM_JSON}; charset=utf-8`, 'Cache-Control': 'private, no-store' } });
}

async function oneInstance(c: DicomwebContext<Uids>): Promise<InstanceRow> {
  const q = pathUids(c);
  const rows = await findInstances(c.scope, q);
  if (rows.length !== 1) throw notFoundDw('Instance not found');
  return rows[0];
}

function pixelsServable(ts: string): string {
  if (ts === TS.DeflatedLE) throw notAcceptable('Pixel data of deflated instances is not served by frame; retrieve the instance');
  if (ts === TS.ExplicitBE) throw notAcceptable('Pixel data of big-endian instances is not served by frame; retrieve the instance');
  const media = frameMediaType(ts);
  if (!media) throw notAcceptable(`Frames cannot be served for transfer syntax ${ts} (video or unknown compression); retrieve the instance`);
  return media;
}

function framePieces(layout: PixelLayout, n: number): Piece[] {
  const count = layout.frames ? layout.frames.length : layout.numberOfFrames;
  if (!Number.isInteger(n) || n < 1 || n > count) throw notFoundDw(`No frame ${n} in this instance (it has ${count})`);
  if (layout.frames) return layout.frames[n - 1];
  const native = layout.native!;
  const bits = layout.rows * layout.columns * layout.samplesPerPixel * layout.bitsAllocated;
  if (!bits || bits % 8 !== 0) throw notAcceptable('Frames of this instance do not start on byte boundaries; retrieve the instance');
  const size = bits / 8;
  const offset = native.offset + (n - 1) * size;
  if ((n - 1) * size + size > native.length) throw notFoundDw(`No frame ${n} in this instance`);
  return [{ offset, length: size }];
}

async function* piecesOf(abs: string, pieces: Piece[]): AsyncGenerator<Uint8Array> {
  for (const p of pieces) yield* fileChunks(abs, p.offset, p.length);
}

function pixelAnswer(abs: string, frames: Piece[][], ts: string, media: string, multipart: boolean, locations: string[]): Response {
  const contentType = `${media}; transfer-syntax=${ts}`;
  if (!multipart) {
    const length = frames[0].reduce((n, p) => n + p.length, 0);
    return new Response(streamOf(piecesOf(abs, frames[0])), { headers: { 'Content-Type': contentType, 'Content-Length': String(length), 'Cache-Control': 'private, no-store' } });
  }
  async function* parts(): AsyncGenerator<OutPart> {
    for (let i = 0; i < frames.length; i++) yield { contentType, contentLocation: locations[i], body: () => piecesOf(abs, frames[i]) };
  }
  return multipartResponse(parts(), media);
}

/** WADO-RS frames: `frames/1` or `frames/1,3,5`, in the stored syntax (native: application/octet-stream). */
export async function retrieveFrames(c: DicomwebContext<Uids & { frames: string }>): Promise<Response> {
  const list = c.params.frames.split(',').map((s) => s.trim());
  if (!list.length || list.length > 10_000 || list.some((s) => !/^\d{1,7}$/.test(s))) throw badRequest('Frame numbers must be a comma-separated list of positive integers');
  const numbers = list.map(Number);
  const r = await oneInstance(c);
  const media = pixelsServable(r.transferSyntaxUid);
  const abs = absolute(r.path);
  const layout = await pixelLayout(abs);
  const frames = numbers.map((n) => framePieces(layout, n));
  const { multipart } = negotiatePixels(c.req.headers.get('accept'), layout.transferSyntaxUid, media, frames.length === 1);
  await audited(c, [r], 'frames');
  const base = `${instanceUrl(c.root, r)}/frames/`;
  return pixelAnswer(abs, frames, layout.transferSyntaxUid, media, multipart, numbers.map((n) => base + n));
}

/** WADO-RS bulk data named by a BulkDataURI of the metadata. */
export async function retrieveBulkdata(c: DicomwebContext<Uids & { tagPath: string }>): Promise<Response> {
  const r = await oneInstance(c);
  const abs = absolute(r.path);
  const { located, transferSyntaxUid: ts, little } = await bulkLocation(abs, c.params.tagPath);
  if (ts === TS.DeflatedLE) throw notAcceptable('Bulk data of deflated instances is not served separately; retrieve the instance');
  if (!little) throw notAcceptable('Bulk data of big-endian instances is not served separately; retrieve the instance');
  await audited(c, [r], 'bulkdata');
  const isPixelData = located.tag === 0x7fe00010 && !c.params.tagPath.includes('.');
  if (isPixelData && located.length === 0xffffffff) {
    // Encapsulated pixel data: one part per frame, in the frames' media type.
    const media = pixelsServable(ts);
    const layout = await pixelLayout(abs);
    const frames = layout.frames ?? [];
    const { multipart } = negotiatePixels(c.req.headers.get('accept'), ts, media, frames.length === 1);
    const base = `${instanceUrl(c.root, r)}/frames/`;
    return pixelAnswer(abs, frames, ts, media, multipart, frames.map((_, i) => base + (i + 1)));
  }
  if (located.length === 0xffffffff) throw notAcceptable('This bulk data element is encapsulated and is not served separately; retrieve the instance');
  const { multipart } = negotiateOctets(c.req.headers.get('accept'));
  const contentType = isPixelData ? `application/octet-stream; transfer-syntax=${ts}` : 'application/octet-stream';
  const piece = { offset: located.valueOffset, length: located.length };
  if (!multipart) {
    return new Response(streamOf(piecesOf(abs, [piece])), { headers: { 'Content-Type': contentType, 'Content-Length': String(piece.length), 'Cache-Control': 'private, no-store' } });
  }
  async function* parts(): AsyncGenerator<OutPart> {
    yield { contentType, body: () => piecesOf(abs, [piece]) };
  }
  return multipartResponse(parts(), 'application/octet-stream');
}

/**
 * WADO-URI (PS3.18 9): `?requestType=WADO&studyUID=&seriesUID=&objectUID=&contentType=application/dicom`,
 * the form Weasis manifests use. Only application/dicom in the stored syntax is offered (no
 * rendering); `anonymize=yes` is satisfied by construction.
 */
export async function wadoUri(c: DicomwebContext<Record<string, string>>): Promise<Response> {
  const p = c.url.searchParams;
  if (p.get('requestType') !== 'WADO') throw badRequest('requestType=WADO is required');
  const sopUid = checkUid(p.get('objectUID') ?? undefined, 'objectUID');
  const studyUid = p.get('studyUID') ? checkUid(p.get('studyUID')!, 'studyUID') : undefined;
  const seriesUid = p.get('seriesUID') ? checkUid(p.get('seriesUID')!, 'seriesUID') : undefined;
  const types = (p.get('contentType') ?? '').split(',').map((t) => t.split(';')[0].trim().toLowerCase()).filter(Boolean);
  if (!types.some((t) => t === 'application/dicom' || t === '*/*')) {
    throw notAcceptable(
      types.length
        ? 'Only contentType=application/dicom is available (no rendered images)'
        : 'Add contentType=application/dicom: without it WADO-URI asks for a rendered JPEG, which is not available',
    );
  }
  const rows = await findInstances(c.scope, { studyUid, seriesUid, sopUid });
  if (rows.length !== 1) throw notFoundDw('Instance not found');
  const r = rows[0];
  const wanted = p.get('transferSyntax');
  if (wanted && wanted !== '*' && wanted !== r.transferSyntaxUid) {
    throw notAcceptable(`This instance is stored as ${r.transferSyntaxUid}; it is not transcoded (use transferSyntax=* or leave it out)`);
  }
  await audited(c, [r], 'wado-uri');
  return new Response(streamOf(fileChunks(absolute(r.path))), {
    headers: { 'Content-Type': 'application/dicom', 'Content-Length': String(r.size), 'Cache-Control': 'private, no-store' },
  });
}
