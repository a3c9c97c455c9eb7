/**
 * The one wrapper every DICOMweb route handler (app/dicomweb/[poolId]/…) goes through, like
 * lib/api/handler.ts's `route` for /api/v1: find the caller (API token, viewer token or session
 * cookie), decide access with requirePool (nothing else), hand the handler the pool and the
 * caller's scope, add CORS headers and map errors to statuses. A pool the caller may not see
 * answers 404 (never 403), so pool ids and UIDs cannot be probed.
 *
 * The handler returned carries a marker (DICOMWEB_ROUTE) so a test can check that every exported
 * handler under app/dicomweb was built here.
 */
import { bearerFrom, getActor, type Actor } from '../auth/actor';
import { requirePool } from '../auth/access';
import type { Pool } from '../db';
import { env } from '../env';
import { AppError } from '../errors';
import { logger } from '../logger';
import { corsHeaders, preflightResponse } from './cors';
import { DicomwebError } from './errors';
import { actorFromViewerToken, VIEWER_TOKEN_PREFIX } from './viewer-tokens';

const log = logger('dicomweb');

export const DICOMWEB_ROUTE = Symbol.for('tributary.dicomweb-route');

/** What a caller may reach inside the pool: all of it, or the studies a viewer token names. */
export interface PoolScope {
  poolId: string;
  /** Study Instance UIDs (research UIDs) the caller is limited to; null = the whole pool. */
  studyUids: string[] | null;
}

export interface DicomwebContext<P> {
  req: Request;
  url: URL;
  actor: Actor;
  pool: Pool;
  scope: PoolScope;
  params: P;
  /** `${PUBLIC_URL}/dicomweb/${poolId}`: base of RetrieveURL and BulkDataURI values. */
  root: string;
}

/** Reading needs pool membership; STOW-RS needs 'ingest' (the pool's owner, lib/auth/access.ts). */
export type DicomwebNeed = 'read' | 'ingest';

type RouteCtx = { params: Promise<Record<string, string>> };
export type DicomwebHandler = ((req: Request, ctx: RouteCtx) => Promise<Response>) & { [DICOMWEB_ROUTE]?: DicomwebNeed };

export function dicomwebRoot(poolId: string): string {
  return `${env().PUBLIC_URL.replace(/\/$/, '')}/dicomweb/${poolId}`;
}

/** Header values are ASCII; error messages are ours (no PHI) but keep them to one safe line. */
function warningHeader(message: string): string {
  return `299 tributary: ${message.replace(/[^\x20-\x7e]/g, '?').replace(/"/g, "'").slice(0, 300)}`;
}

export function dicomwebError(e: unknown): Response {
  let status = 500;
  let code = 'INTERNAL';
  let message = 'Internal error';
  if (e instanceof DicomwebError) {
    status = e.status;
    code = status === 406 ? 'NOT_ACCEPTABLE' : status === 404 ? 'NOT_FOUND' : status === 400 ? 'BAD_REQUEST' : 'ERROR';
    message = e.message;
  } else if (e instanceof AppError) {
    status = e.status;
    code = e.code;
    message = e.message;
  } else {
    log.error('unhandled error', { err: e });
  }
  const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', Warning: warningHeader(message) };
  if (status === 401) headers['WWW-Authenticate'] = 'Bearer realm="tributary"';
  return new Response(JSON.stringify({ error: { code, message } }), { status, headers });
}

async function caller(req: Request): Promise<{ actor: Actor | null; studyUids: string[] | null }> {
  const bearer = bearerFrom(req);
  if (bearer?.startsWith(VIEWER_TOKEN_PREFIX)) {
    const v = await actorFromViewerToken(bearer);
    return v ?? { actor: null, studyUids: null };
  }
  return { actor: await getActor(req), studyUids: null };
}

function withHeaders(res: Response, extra: Record<string, string>): Response {
  for (const [k, v] of Object.entries(extra)) res.headers.set(k, v);
  return res;
}

export function dicomweb<P extends Record<string, string> = Record<string, string>>(
  need: DicomwebNeed,
  fn: (c: DicomwebContext<P & { poolId: string }>) => Promise<Response>,
): DicomwebHandler {
  const handler: DicomwebHandler = async (req, ctx) => {
    const cors = corsHeaders(req);
    try {
      const params = (ctx?.params ? await ctx.params : {}) as P & { poolId: string };
      const { actor, studyUids } = await caller(req);
      // THE access decision (lib/auth/access.ts); a non-member gets 404 before anything is read.
      const access = await requirePool(actor, params.poolId, need);
      // Infrastructure pools are AE titles for the PACS, not archives: nothing to serve.
      if (access.pool.kind !== 'RESEARCH') throw new AppError('NOT_FOUND', 'Pool not found');
      const res = await fn({
        req,
        url: new URL(req.url),
        actor: actor as Actor,
        pool: access.pool,
        scope: { poolId: access.pool.id, studyUids },
        params,
        root: dicomwebRoot(access.pool.id),
      });
      return withHeaders(res, cors);
    } catch (e) {
      return withHeaders(dicomwebError(e), cors);
    }
  };
  handler[DICOMWEB_ROUTE] = need;
  return handler;
}

/** OPTIONS (CORS preflight): answered without authentication, as browsers send no credentials. */
export const preflight: DicomwebHandler = async (req) => preflightResponse(req);
preflight[DICOMWEB_ROUTE] = 'read';
