/**
 * Weasis: manifests (Weasis 2.5 XML, namespace http://www.weasis.org/xsd/2.5) and `weasis://`
 * launch links for one or several studies of a pool.
 *
 * Flow: POST /api/v1/pools/{id}/weasis builds the manifest from the pool index at once, stores it
 * gzipped in Redis under a random id for MANIFEST_TTL_SECONDS, and answers its URL plus two launch
 * links. Weasis fetches GET /api/v1/weasis/manifests/{id} without a session (the random id is the
 * capability); the first fetch deletes it (single use, like weasis-pacs-connector). The WADO-URI
 * requests inside carry a short-lived viewer token in the manifest's httpTag, never in a URL.
 *
 * The alternative `$dicom:rs` link skips the manifest: Weasis queries the pool's DICOMweb itself
 * with the token as an `-H` header argument (in no HTTP URL, but in the weasis:// link itself).
 * It is made only on request (`rsLink`): a weasis:// link a browser opens stays in its history,
 * so the default link carries only the single-use manifest code, which Weasis uses up within
 * seconds, and never the 4-hour token.
 */
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { audit } from '../audit';
import type { Actor } from '../auth/actor';
import { bearerFrom } from '../auth/actor';
import { hashToken } from '../auth/tokens';
import { db, type Pool } from '../db';
import { dicomwebRoot } from '../dicomweb/route';
import { createViewerToken } from '../dicomweb/viewer-tokens';
import { env } from '../env';
import { AppError } from '../errors';
import { key, redis } from '../redis';

export const WEASIS_NS = 'http://www.weasis.org/xsd/2.5';
/** A manifest waits this long for Weasis to fetch it (weasis-pacs-connector: 5 min). */
export const MANIFEST_TTL_SECONDS = 5 * 60;
/** Viewer tokens outlive the manifest: Weasis downloads the images after reading it. */
export const VIEWER_TOKEN_TTL_SECONDS = 4 * 60 * 60;
/** Custom-scheme links longer than this fail on some platforms (Windows ~2048): such rs links are not offered. */
export const MAX_LAUNCH_URL = 2000;
export const MAX_STUDIES_PER_LAUNCH = 100;
const MANIFEST_ID = /^[A-Za-z0-9_-]{24}$/;

// ---------------------------------------------------------------------------------------------
// The XML

export interface ManifestInstance {
  sopInstanceUid: string;
  instanceNumber: number | null;
}
export interface ManifestSeries {
  seriesInstanceUid: string;
  seriesDescription: string;
  seriesNumber: number | null;
  modality: string;
  instances: ManifestInstance[];
}
export interface ManifestStudy {
  studyInstanceUid: string;
  studyDescription: string;
  studyDate: string;
  studyTime: string;
  accessionNumber: string;
  studyId: string;
  patientId: string;
  patientName: string;
  patientBirthDate: string;
  patientSex: string;
  series: ManifestSeries[];
}

export interface ManifestInput {
  uid: string;
  arcId: string;
  /** WADO-URI base: Weasis appends `?requestType=WADO&studyUID=…&seriesUID=…&objectUID=…&contentType=application%2Fdicom`. */
  baseUrl: string;
  httpTags: Record<string, string>;
  studies: ManifestStudy[];
  message?: { title: string; description: string; severity: 'INFO' | 'WARN' | 'ERROR' };
}

/** XML attribute text: escaped, and without the control characters XML 1.0 cannot carry. */
function esc(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

// The XSD's value types: a value that does not fit is left out (optional attributes) or cut
// to length, so a manifest always validates. Values come from the de-identified index.
const fit = {
  UI: (v: string) => (/^[0-9.]{1,64}$/.test(v) ? v : undefined),
  LO: (v: string) => (v ? [...v].slice(0, 64).join('') : undefined),
  PN: (v: string) => (v ? [...v].slice(0, 64).join('') : undefined),
  SH: (v: string) => (v ? [...v].slice(0, 16).join('') : undefined),
  DA: (v: string) => (/^\d{8}$/.test(v) ? v : undefined),
  TM: (v: string) => {
    const t = v.trim();
    return t.length <= 13 && /^(([0-1][0-9])|(2[0-3]))(([0-5][0-9])(([0-5][0-9])(\.([0-9]{1,6}))?)?)?$/.test(t) ? t : undefined;
  },
  CS: (v: string) => (/^[A-Z0-9 _]{1,16}$/.test(v) ? v : undefined),
  IS: (v: number | null) => (v !== null && Number.isInteger(v) && Math.abs(v) <= 2_147_483_647 ? String(v) : undefined),
  Sex: (v: string) => (['M', 'F', 'O'].includes(v) ? v : undefined),
};

function attrs(pairs: [string, string | undefined][]): string {
  return pairs
    .filter((p): p is [string, string] => p[1] !== undefined)
    .map(([k, v]) => ` ${k}="${esc(v)}"`)
    .join('');
}

/** The studies a manifest can list: those with something to show (the XSD wants at least one Series and Instance in each). */
export function listableStudies(studies: ManifestStudy[]): ManifestStudy[] {
  return studies
    .map((s) => ({ ...s, series: s.series.filter((se) => fit.UI(se.seriesInstanceUid) && se.instances.some((i) => fit.UI(i.sopInstanceUid))) }))
    .filter((s) => fit.UI(s.studyInstanceUid) && s.series.length > 0);
}

/**
 * What Weasis should tell the user (the arcQuery's Message element, shown as a dialog) when some
 * or all of the launched studies have no images in the pool yet — instead of an empty viewer.
 */
export function manifestMessage(studies: ManifestStudy[]): ManifestInput['message'] {
  const n = studies.length;
  const empty = n - listableStudies(studies).length;
  if (empty === 0) return undefined;
  const why = 'their images are still arriving, or were held in quarantine for review';
  if (empty === n) {
    return {
      title: 'No images',
      description: n === 1 ? `This study has no images in the pool yet: ${why.replace('their', 'its')}.` : `None of these ${n} studies has images in the pool yet: ${why}.`,
      severity: 'WARN',
    };
  }
  return { title: 'Some studies have no images', description: `${empty} of the ${n} studies have no images in the pool yet (${why}); the others are shown.`, severity: 'INFO' };
}

export function buildManifestXml(m: ManifestInput): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>', `<manifest xmlns="${WEASIS_NS}"${attrs([['uid', m.uid]])}>`];
  out.push(`  <arcQuery${attrs([['arcId', m.arcId], ['baseUrl', m.baseUrl], ['requireOnlySOPInstanceUID', 'false']])}>`);
  for (const [k, v] of Object.entries(m.httpTags)) out.push(`    <httpTag${attrs([['key', k], ['value', v]])}/>`);
  if (m.message) out.push(`    <Message${attrs([['title', m.message.title], ['description', m.message.description], ['severity', m.message.severity]])}/>`);
  const shown = listableStudies(m.studies);
  // Weasis groups by patient: one Patient per research ID, its studies inside.
  const byPatient = new Map<string, ManifestStudy[]>();
  for (const s of shown) {
    const k = `${s.patientId}\u0000${s.patientName}`;
    byPatient.set(k, [...(byPatient.get(k) ?? []), s]);
  }
  for (const studies of byPatient.values()) {
    const p = studies[0];
    out.push(
      `    <Patient${attrs([
        ['PatientID', fit.LO(p.patientId) ?? ''],
        ['PatientName', fit.PN(p.patientName) ?? ''],
        ['PatientBirthDate', fit.DA(p.patientBirthDate)],
        ['PatientSex', fit.Sex(p.patientSex)],
      ])}>`,
    );
    for (const s of studies) {
      out.push(
        `      <Study${attrs([
          ['StudyInstanceUID', s.studyInstanceUid],
          ['StudyDescription', fit.LO(s.studyDescription)],
          ['StudyDate', fit.DA(s.studyDate)],
          ['StudyTime', fit.TM(s.studyTime)],
          ['AccessionNumber', fit.SH(s.accessionNumber)],
          ['StudyID', fit.SH(s.studyId)],
        ])}>`,
      );
      for (const se of s.series) {
        out.push(
          `        <Series${attrs([
            ['SeriesInstanceUID', se.seriesInstanceUid],
            ['SeriesDescription', fit.LO(se.seriesDescription)],
            ['SeriesNumber', fit.IS(se.seriesNumber)],
            ['Modality', fit.CS(se.modality)],
          ])}>`,
        );
        for (const i of se.instances) {
          const sop = fit.UI(i.sopInstanceUid);
          if (sop) out.push(`          <Instance${attrs([['SOPInstanceUID', sop], ['InstanceNumber', fit.IS(i.instanceNumber)]])}/>`);
        }
        out.push('        </Series>');
      }
      out.push('      </Study>');
    }
    out.push('    </Patient>');
  }
  out.push('  </arcQuery>', '</manifest>', '');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Launch links

/** java.net.URLEncoder's form (spaces as "+"), the encoding weasis-pacs-connector uses for weasis:// links. */
export function javaUrlEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9.\-*_]/.test(c)) out += c;
    else if (b === 0x20) out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** What Weasis's protocol handler does with the link (URLDecoder): for tests and for showing the command. */
export function decodeWeasisUrl(url: string): string {
  return decodeURIComponent(url.replace(/^weasis:\/\//, '').replace(/\+/g, ' '));
}

export function manifestLaunchUrl(manifestUrl: string): string {
  return 'weasis://' + javaUrlEncode(`$dicom:get -w "${manifestUrl}"`);
}

export function rsLaunchUrl(dicomwebRootUrl: string, studyUids: string[], token: string): string {
  const requests = studyUids.map((u) => `-r "studyUID=${u}"`).join(' ');
  return 'weasis://' + javaUrlEncode(`$dicom:rs --url "${dicomwebRootUrl}" ${requests} -H "Authorization: Bearer ${token}"`);
}

// ---------------------------------------------------------------------------------------------
// Launching

interface StoredManifest {
  poolId: string;
  userId: string;
  studies: number;
}

const manifestKey = (id: string) => key('weasis-manifest', id);

export function manifestUrlFor(id: string): string {
  return `${env().PUBLIC_URL.replace(/\/$/, '')}/api/v1/weasis/manifests/${id}`;
}

/** The API token a request came with (its id), so a viewer token minted from it dies with it. */
export async function parentTokenId(req: Request, actor: Actor): Promise<string | null> {
  if (actor.via !== 'token') return null;
  const bearer = bearerFrom(req);
  if (!bearer) return null;
  const row = await db.apiToken.findUnique({ where: { tokenHash: hashToken(bearer) }, select: { id: true } });
  return row?.id ?? null;
}

async function loadStudies(poolId: string, studyIds: string[]): Promise<ManifestStudy[]> {
  const rows = await db.study.findMany({
    where: { poolId, id: { in: studyIds } },
    include: {
      series: {
        orderBy: [{ seriesNumber: 'asc' }, { seriesInstanceUid: 'asc' }],
        include: { instances: { orderBy: [{ instanceNumber: 'asc' }, { sopInstanceUid: 'asc' }], select: { sopInstanceUid: true, instanceNumber: true } } },
      },
    },
  });
  if (rows.length !== studyIds.length) throw new AppError('NOT_FOUND', 'Study not found');
  const order = new Map(studyIds.map((id, i) => [id, i]));
  rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  return rows.map((s) => ({
    studyInstanceUid: s.studyInstanceUid,
    studyDescription: s.studyDescription,
    studyDate: s.studyDate,
    studyTime: s.studyTime,
    accessionNumber: s.accessionNumber,
    studyId: s.studyId,
    patientId: s.patientId,
    patientName: s.patientName,
    patientBirthDate: s.patientBirthDate,
    patientSex: s.patientSex,
    series: s.series.map((se) => ({
      seriesInstanceUid: se.seriesInstanceUid,
      seriesDescription: se.seriesDescription,
      seriesNumber: se.seriesNumber,
      modality: se.modality,
      instances: se.instances,
    })),
  }));
}

export interface WeasisLaunch {
  /** Single-use, expires after MANIFEST_TTL_SECONDS; gzip unless `?noGzip`. */
  manifestUrl: string;
  /** weasis://$dicom:get -w "<manifestUrl>" */
  weasisUrl: string;
  /** weasis://$dicom:rs … -H "Authorization: Bearer …" (the token in the link): only when asked for (rsLink), and null when too long for a link. */
  rsUrl: string | null;
  manifestExpiresAt: string;
  tokenExpiresAt: string;
}

/** Builds and stores a manifest for studies (Study ids) of a pool the caller may read. */
export async function createWeasisLaunch(opts: { actor: Actor; pool: Pool; studyIds: string[]; parentTokenId: string | null; rsLink?: boolean }): Promise<WeasisLaunch> {
  const studyIds = [...new Set(opts.studyIds)];
  if (studyIds.length > MAX_STUDIES_PER_LAUNCH) throw new AppError('VALIDATION', `At most ${MAX_STUDIES_PER_LAUNCH} studies per launch`, { studyIds: ['too many'] });
  const studies = await loadStudies(opts.pool.id, studyIds);
  const studyUids = studies.map((s) => s.studyInstanceUid);
  const { token, expiresAt } = await createViewerToken(
    { userId: opts.actor.userId, poolId: opts.pool.id, studyUids, parentTokenId: opts.parentTokenId },
    VIEWER_TOKEN_TTL_SECONDS,
  );
  const id = randomBytes(18).toString('base64url');
  const root = dicomwebRoot(opts.pool.id);
  const xml = buildManifestXml({
    uid: id,
    arcId: 'tributary',
    baseUrl: `${root}/wado`,
    httpTags: { Authorization: `Bearer ${token}` },
    studies,
    message: manifestMessage(studies),
  });
  const meta: StoredManifest = { poolId: opts.pool.id, userId: opts.actor.userId, studies: studies.length };
  const k = manifestKey(id);
  await redis().multi().hset(k, 'meta', JSON.stringify(meta), 'xml', gzipSync(xml)).expire(k, MANIFEST_TTL_SECONDS).exec();
  for (const studyId of studyIds) {
    await audit({
      userId: opts.actor.userId,
      action: 'study.viewer-launch',
      poolId: opts.pool.id,
      targetType: 'study',
      targetId: studyId,
      detail: { viewer: 'weasis', studies: studyIds.length, rsLink: !!opts.rsLink, tokenTtlMinutes: Math.round((expiresAt.getTime() - Date.now()) / 60000) },
    });
  }
  const manifestUrl = manifestUrlFor(id);
  const rs = opts.rsLink ? rsLaunchUrl(root, studyUids, token) : null;
  return {
    manifestUrl,
    weasisUrl: manifestLaunchUrl(manifestUrl),
    rsUrl: rs && rs.length <= MAX_LAUNCH_URL ? rs : null,
    manifestExpiresAt: new Date(Date.now() + MANIFEST_TTL_SECONDS * 1000).toISOString(),
    tokenExpiresAt: expiresAt.toISOString(),
  };
}

/**
 * The one fetch of a manifest: gzip (application/x-gzip, like weasis-pacs-connector) unless
 * `noGzip`, never cached. Bad id: 400; unknown, expired or already fetched: 404.
 */
export async function fetchManifest(id: string, noGzip: boolean): Promise<Response> {
  if (!MANIFEST_ID.test(id)) throw new AppError('BAD_REQUEST', 'Invalid manifest id');
  const k = manifestKey(id);
  // Read and delete in one transaction: two concurrent fetches cannot both get it.
  const res = await redis().multi().hgetallBuffer(k).del(k).exec();
  const hash = (res?.[0]?.[1] ?? {}) as Record<string, Buffer>;
  if (!hash.xml || !hash.meta) throw new AppError('NOT_FOUND', 'This manifest does not exist, has expired or was already used; launch the viewer again');
  const meta = JSON.parse(hash.meta.toString('utf8')) as StoredManifest;
  await audit({ userId: meta.userId, action: 'viewer.manifest-fetch', poolId: meta.poolId, targetType: 'manifest', detail: { studies: meta.studies } });
  const headers: Record<string, string> = { 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache', Expires: '0' };
  if (noGzip) {
    return new Response(new Uint8Array(gunzipSync(hash.xml)), { headers: { ...headers, 'Content-Type': 'text/xml; charset=utf-8' } });
  }
  return new Response(new Uint8Array(hash.xml), {
    headers: { ...headers, 'Content-Type': 'application/x-gzip', 'Content-Disposition': `attachment; filename="manifest-${id}.gz"` },
  });
}
