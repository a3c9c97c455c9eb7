/**
 * DICOMweb test helpers: the route files under app/dicomweb (enumerated, like tests/helpers/api.ts
 * does for /api/v1), an in-process caller that finds the route file for a URL the way Next.js
 * does, a tiny HTTP server that adapts real HTTP requests to those handlers (so Orthanc can be a
 * client), a pool filled with real de-identified synthetic data, and an independent multipart
 * parser (written here from RFC 2046, sharing nothing with lib/dicomweb).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ruleSetSchema } from '@/lib/anonymize/rules';
import { db, type Pool } from '@/lib/db';
import type { DicomwebHandler } from '@/lib/dicomweb/route';
import { resolvePatientIdentity } from '@/lib/pools/identity';
import { refreshStudyCounts, storeDeidentified } from '@/lib/receive/ingest';
import type { SyntheticInstance } from '@/lib/synthetic';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
export const DW_DIR = path.join(ROOT, 'app', 'dicomweb');
export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export interface DwRoute {
  /** e.g. /{poolId}/studies/{study}/series */
  template: string;
  file: string;
  handlers: Partial<Record<(typeof METHODS)[number], DicomwebHandler>>;
}

let cached: DwRoute[] | null = null;

/** Every route file under app/dicomweb with its exported handlers. */
export async function dicomwebRoutes(): Promise<DwRoute[]> {
  if (cached) return cached;
  const out: DwRoute[] = [];
  const walk = async (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/^route\.(ts|tsx|js)$/.test(e.name)) {
        const rel = path.relative(DW_DIR, path.dirname(p));
        const template = '/' + rel.split(path.sep).map((s) => s.replace(/^\[(.+)\]$/, '{$1}')).join('/');
        const mod = (await import(p)) as Record<string, unknown>;
        const handlers: DwRoute['handlers'] = {};
        for (const m of METHODS) if (typeof mod[m] === 'function') handlers[m] = mod[m] as DicomwebHandler;
        out.push({ template, file: p, handlers });
      }
    }
  };
  await walk(DW_DIR);
  cached = out;
  return out;
}

/** The route for a path under /dicomweb (static segments win over dynamic ones, as in Next.js). */
export async function matchRoute(pathname: string): Promise<{ route: DwRoute; params: Record<string, string> } | null> {
  const segs = pathname.replace(/^\/dicomweb/, '').split('/').filter(Boolean).map(decodeURIComponent);
  let best: { route: DwRoute; params: Record<string, string>; score: number } | null = null;
  for (const route of await dicomwebRoutes()) {
    const t = route.template.split('/').filter(Boolean);
    if (t.length !== segs.length) continue;
    const params: Record<string, string> = {};
    let score = 0;
    let ok = true;
    for (let i = 0; i < t.length; i++) {
      const m = /^\{(.+)\}$/.exec(t[i]);
      if (m) params[m[1]] = segs[i];
      else if (t[i] === segs[i]) score++;
      else {
        ok = false;
        break;
      }
    }
    if (ok && (!best || score > best.score)) best = { route, params, score };
  }
  return best;
}

/** Calls the route handler for `url` (absolute, or a path starting with /dicomweb) in-process. */
export async function dw(
  method: string,
  url: string,
  opts: { token?: string; headers?: Record<string, string>; body?: BodyInit | null } = {},
): Promise<Response> {
  const u = new URL(url, 'http://localhost:3000');
  const found = await matchRoute(u.pathname);
  if (!found) return new Response('no route', { status: 404 });
  const handler = found.route.handlers[method.toUpperCase() as (typeof METHODS)[number]];
  if (!handler) return new Response('method not allowed', { status: 405 });
  const headers = new Headers(opts.headers ?? {});
  if (opts.token) headers.set('authorization', `Bearer ${opts.token}`);
  const req = new Request(u, { method, headers, body: opts.body ?? undefined, duplex: 'half' } as RequestInit);
  return handler(req, { params: Promise.resolve(found.params) });
}

/** A real HTTP server in front of the route handlers, for clients that speak HTTP (Orthanc). */
export async function serveDicomweb(): Promise<{ url: string; close(): Promise<void>; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer(async (req, res) => {
    try {
      requests.push(`${req.method} ${req.url}`);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const hasBody = req.method === 'POST' || req.method === 'PUT';
      const response = await dw(req.method ?? 'GET', `http://127.0.0.1${req.url}`, {
        headers,
        body: hasBody ? (Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>) : undefined,
      });
      const out: Record<string, string> = {};
      response.headers.forEach((v, k) => (out[k] = v));
      res.writeHead(response.status, out);
      if (response.body) {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
      }
      res.end();
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Stores synthetic instances in a pool through the real de-identification, like a retrieval. */
export async function fillPool(pool: Pool, instances: (SyntheticInstance | { buffer: Buffer; patientId: string })[]): Promise<void> {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'tributary-dw-fill-'));
  try {
    const rules = ruleSetSchema.parse(pool.rules);
    const studyIds: string[] = [];
    for (const [i, inst] of instances.entries()) {
      const file = path.join(tmp, `${i}.dcm`);
      await fsp.writeFile(file, inst.buffer);
      const identity = await resolvePatientIdentity({ poolId: pool.id, poolSecret: pool.secret, sourcePatientId: inst.patientId });
      const out = await storeDeidentified({ pool, rules, identity, inPath: file, sourcePatientId: inst.patientId });
      if (out.kind === 'stored') studyIds.push(out.studyId);
    }
    await refreshStudyCounts(studyIds);
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

export async function poolIndex(poolId: string) {
  return db.study.findMany({
    where: { poolId },
    orderBy: { studyInstanceUid: 'asc' },
    include: { series: { orderBy: { seriesInstanceUid: 'asc' }, include: { instances: { orderBy: { sopInstanceUid: 'asc' } } } } },
  });
}

export interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Independent multipart/related parser (RFC 2046): finds the boundary in the Content-Type,
 * splits on CRLF "--boundary", reads each part's headers. Deliberately simple and whole-buffer.
 */
export function parseMultipart(contentType: string, body: Buffer): Part[] {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) throw new Error(`no boundary in ${contentType}`);
  const delim = Buffer.from(`--${m[1]}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delim);
  if (pos < 0) throw new Error('no delimiter');
  for (;;) {
    pos += delim.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    const headerText = body.subarray(pos, headerEnd).toString('latin1').trim();
    const headers: Record<string, string> = {};
    for (const line of headerText.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headerEnd + 4);
    if (next < 0) throw new Error('unterminated part');
    parts.push({ headers, body: body.subarray(headerEnd + 4, next) });
    pos = next + 2;
  }
  return parts;
}

export async function bodyOf(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

/** One STOW-RS request with these Part-10 objects, answered as parsed DICOM JSON (stow-*.test.ts). */
export async function stowObjects(poolId: string, token: string, objects: Buffer[], boundary = 'stow-b0undary') {
  const chunks: Buffer[] = [];
  for (const o of objects) chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), o, Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  const res = await dw('POST', `/dicomweb/${poolId}/studies`, {
    token,
    headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`, accept: 'application/dicom+json' },
    body: new Uint8Array(Buffer.concat(chunks)),
  });
  const text = (await bodyOf(res)).toString('utf8');
  type Json = Record<string, { vr: string; Value?: unknown[] }>;
  const json = text && res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Json) : null;
  const items = (tag: string) => (json?.[tag]?.Value ?? []) as Json[];
  return {
    status: res.status,
    text,
    json,
    /** ReferencedSOPSequence items. */
    stored: items('00081199'),
    /** FailureReason of each FailedSOPSequence item. */
    failureReasons: items('00081198').map((i) => i['00081197']?.Value?.[0] as number),
  };
}

/** Every file under `dir` (relative paths), [] when it does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}
