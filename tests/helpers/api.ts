/**
 * Calls the REST API's real route handlers in-process (no HTTP server): the module is found from
 * the endpoint's path template (/pools/{id} -> app/api/v1/pools/[id]/route.ts) and called with a
 * Request carrying a bearer token, exactly as Next.js would.
 */
import fs from 'node:fs';
import path from 'node:path';
import { encode } from 'next-auth/jwt';
import type { Endpoint } from '@/lib/api/contract';
import { env } from '@/lib/env';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const API_DIR = path.join(ROOT, 'app', 'api', 'v1');

export function routeFileFor(template: string): string {
  return path.join(API_DIR, ...template.split('/').filter(Boolean).map((s) => s.replace(/^\{(.+)\}$/, '[$1]')), 'route.ts');
}

/** Every route file under app/api/v1 with the HTTP methods it exports, as [method, template]. */
export async function routeFiles(): Promise<{ method: string; template: string; file: string }[]> {
  const out: { method: string; template: string; file: string }[] = [];
  const walk = async (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name === 'route.ts') {
        const rel = path.relative(API_DIR, path.dirname(p));
        const template = '/' + rel.split(path.sep).map((s) => s.replace(/^\[(.+)\]$/, '{$1}')).join('/');
        const mod = (await import(p)) as Record<string, unknown>;
        for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) if (typeof mod[m] === 'function') out.push({ method: m.toLowerCase(), template, file: p });
      }
    }
  };
  await walk(API_DIR);
  return out;
}

export function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => {
    if (!(k in params)) throw new Error(`no value for {${k}} in ${template}`);
    return encodeURIComponent(params[k]);
  });
}

export interface CallResult {
  status: number;
  text: string;
  json: unknown;
  headers: Headers;
}

/** A next-auth session cookie for the user, as the browser holds it after sign-in. */
/** A session cookie as next-auth would set it at sign-in: the user's id and current session version. */
export async function sessionCookie(userId: string): Promise<string> {
  const { db } = await import('@/lib/db');
  const { sessionVersion } = await db.user.findUniqueOrThrow({ where: { id: userId }, select: { sessionVersion: true } });
  const jwt = await encode({ token: { uid: userId, sub: userId, sv: sessionVersion }, secret: env().TRIBUTARY_SECRET });
  const name = env().PUBLIC_URL.startsWith('https://') ? '__Secure-next-auth.session-token' : 'next-auth.session-token';
  return `${name}=${jwt}`;
}

/** PUBLIC_URL's origin: what a browser sends as Origin from Tributary's own pages. */
export function publicOrigin(): string {
  return new URL(env().PUBLIC_URL).origin;
}

export interface CallOptions {
  token?: string;
  /** A session cookie (sessionCookie()); the request then carries Origin: PUBLIC_URL's origin, as a browser's would. */
  cookie?: string;
  /** Overrides that Origin (null: none at all). */
  origin?: string | null;
  headers?: Record<string, string>;
  body?: unknown;
  rawBody?: string;
  /** A streamed body (sent without Content-Length unless headers give one). */
  stream?: ReadableStream<Uint8Array>;
  contentType?: string;
  query?: Record<string, string>;
  form?: FormData;
}

export async function call(ep: Pick<Endpoint, 'method' | 'path'>, params: Record<string, string>, opts: CallOptions = {}): Promise<CallResult> {
  const mod = (await import(routeFileFor(ep.path))) as Record<string, (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>>;
  const handler = mod[ep.method.toUpperCase()];
  if (!handler) throw new Error(`${ep.method} ${ep.path} has no handler`);
  const url = new URL('http://localhost/api/v1' + fillPath(ep.path, params));
  for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
  const headers = new Headers();
  if (opts.token) headers.set('authorization', `Bearer ${opts.token}`);
  if (opts.cookie) {
    headers.set('cookie', opts.cookie);
    const origin = opts.origin === undefined ? publicOrigin() : opts.origin;
    if (origin !== null) headers.set('origin', origin);
  } else if (opts.origin) headers.set('origin', opts.origin);
  let body: string | FormData | ReadableStream<Uint8Array> | undefined;
  if (opts.form) body = opts.form; // fetch's Request sets the multipart boundary itself
  else if (opts.stream) body = opts.stream;
  else if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined && !opts.form) headers.set('content-type', opts.contentType ?? 'application/json');
  for (const [k, v] of Object.entries(opts.headers ?? {})) headers.set(k, v);
  const init = { method: ep.method.toUpperCase(), headers, body, duplex: 'half' } as RequestInit;
  const res = await handler(new Request(url, init), {
    params: Promise.resolve(Object.fromEntries(Object.entries(params).filter(([k]) => ep.path.includes(`{${k}}`)))),
  });
  const text = res.body ? Buffer.from(await res.arrayBuffer()).toString('latin1') : '';
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}
