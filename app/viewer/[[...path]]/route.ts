/**
 * The OHIF viewer on this origin (lib/viewers/ohif-serve.ts says what each path is). Static files
 * are public (OHIF's own code); the page and its configuration need a signed-in user; images
 * come from /dicomweb, where access is decided for every request.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { actorFromRequestCookie } from '@/lib/auth/actor';
import { requirePool } from '@/lib/auth/access';
import { env } from '@/lib/env';
import {
  cacheControlOf, contentTypeOf, isPoolSegment, ohifDistDir, staticFile, viewerConfigScript, viewerCsp, viewerIndexHtml,
} from '@/lib/viewers/ohif-serve';

export const dynamic = 'force-dynamic';

function notFound(message = 'Not found'): Response {
  return new Response(message, { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } });
}

function notInstalled(): Response {
  return new Response('The OHIF viewer is not installed on this server: run `node scripts/fetch-ohif.mjs` (npm test, npm run demo and the Docker image do it).', {
    status: 503,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
  });
}

export async function GET(req: Request, ctx: { params: Promise<{ path?: string[] }> }): Promise<Response> {
  const segments = (await ctx.params).path ?? [];
  if (!fs.existsSync(ohifDistDir())) return notInstalled();

  const file = staticFile(segments);
  if (file) {
    const stat = fs.statSync(file);
    return new Response(Readable.toWeb(fs.createReadStream(file)) as ReadableStream, {
      headers: { 'Content-Type': contentTypeOf(file), 'Content-Length': String(stat.size), 'Cache-Control': cacheControlOf(file) },
    });
  }

  const [poolId, ...rest] = segments;
  if (!poolId || !isPoolSegment(poolId)) {
    // /viewer alone: the pools page is where a study is picked.
    if (!poolId) return Response.redirect(new URL('/pools', env().PUBLIC_URL), 302);
    return notFound();
  }
  const actor = await actorFromRequestCookie(req);
  if (!actor) {
    if (rest.length === 1 && rest[0] === 'app-config.js') return notFound('Sign in first');
    const url = new URL(req.url);
    const back = `/viewer/${segments.join('/')}${url.search}`;
    return Response.redirect(new URL(`/signin?callbackUrl=${encodeURIComponent(back)}`, env().PUBLIC_URL), 302);
  }

  if (rest.length === 1 && rest[0] === 'app-config.js') {
    // The pool's name only for someone who may read it; the rest is the same for anybody.
    const name = await requirePool(actor, poolId, 'read').then((a) => a.pool.name, () => null);
    return new Response(viewerConfigScript(poolId, name), {
      headers: { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store', Vary: 'Cookie' },
    });
  }
  // A file-like path under the pool (a chunk OHIF resolves relative to the page) is not a page.
  if (rest.length > 0 && /\.[a-z0-9]{1,5}$/i.test(rest[rest.length - 1])) return notFound();

  const page = viewerIndexHtml(poolId);
  return new Response(page.html, {
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Security-Policy': viewerCsp(page.scriptHashes),
    },
  });
}
