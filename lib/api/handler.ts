/**
 * The one wrapper every route handler under /api/v1 goes through: resolve the actor, parse
 * params/query/body with the contract's zod schemas, call a lib/ operation, map errors.
 * Invalid input is a 4xx with field errors, never a 500; unexpected errors are logged without
 * request data and answered with a generic 500.
 */
import { NextResponse } from 'next/server';
import { z, ZodError, type ZodType } from 'zod';
import type { Actor } from '../auth/actor';
import { getActor } from '../auth/actor';
import type { PoolAccess } from '../auth/access';
import { authorize, bodyNamesPool } from './authorize';
import { env } from '../env';
import { AppError, type FieldErrors } from '../errors';
import { logger } from '../logger';
import type { Endpoint } from './contract';
import { readJsonBody } from './read-body';
import { readForm } from './read-form';

const log = logger('api');

export interface HandlerContext<P, Q, B> {
  req: Request;
  /** Non-null unless the endpoint is public. */
  actor: Actor;
  /** The pool the endpoint acts on, already authorized (pool-level endpoints only). */
  pool: PoolAccess | null;
  params: P;
  query: Q;
  body: B;
  /** Files of a multipart/form-data body (multipart endpoints only). */
  files: Record<string, File>;
}

type Infer<T> = T extends ZodType ? z.infer<T> : undefined;

export function zodFields(err: ZodError): FieldErrors {
  const out: FieldErrors = {};
  for (const issue of err.issues) {
    const k = issue.path.join('.') || '_';
    (out[k] ??= []).push(issue.message);
  }
  return out;
}

export function errorResponse(e: unknown): Response {
  if (e instanceof AppError) {
    return NextResponse.json({ error: { code: e.code, message: e.message, fields: e.fields } }, { status: e.status });
  }
  if (e instanceof ZodError) {
    return NextResponse.json(
      { error: { code: 'VALIDATION', message: 'Some fields are invalid', fields: zodFields(e) } },
      { status: 422 },
    );
  }
  log.error('unhandled error', { err: e });
  return NextResponse.json({ error: { code: 'INTERNAL', message: 'Internal error' } }, { status: 500 });
}

/**
 * Every handler route() builds carries its endpoint under this key, so a test can check that each
 * route file under app/api/v1 is built here, from the contract entry of its own method and path
 * (tests/integration/api/contract.test.ts).
 */
export const API_ROUTE = Symbol.for('tributary.api-route');

export type RouteHandler = ((req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>) & { [API_ROUTE]: Endpoint };

export function route<E extends Endpoint>(
  endpoint: E,
  fn: (ctx: HandlerContext<Infer<E['params']>, Infer<E['query']>, Infer<E['body']>>) => Promise<unknown>,
): RouteHandler {
  const handler = async (req: Request, ctx: { params: Promise<Record<string, string>> }): Promise<Response> => {
    try {
      const actor = endpoint.auth === 'none' ? null : await getActor(req);
      if (endpoint.auth !== 'none' && !actor) throw new AppError('UNAUTHENTICATED', 'Sign in or send an API token');
      const rawParams = ctx?.params ? await ctx.params : {};
      // Unknown ids answer 404 before any validation detail can reveal anything.
      const params = (endpoint.params ? endpoint.params.parse(rawParams) : rawParams) as Record<string, string>;
      const url = new URL(req.url);
      const query = endpoint.query ? endpoint.query.parse(Object.fromEntries(url.searchParams)) : undefined;
      // Access is decided before the body is read (a caller without access costs us no upload) and
      // before it is validated (field errors tell them nothing). Where the pool is named inside the
      // body, only a capped part of it is read first: the JSON body (1 MB at most) or the form
      // fields before the first file (lib/api/read-form.ts).
      const access: { pool: PoolAccess | null } = { pool: null };
      const decide = async (rawBody: unknown) => {
        access.pool = (await authorize(endpoint, actor, params, rawBody)).pool;
      };
      const fromBody = bodyNamesPool(endpoint);
      if (!fromBody) await decide(undefined);
      let rawBody: unknown;
      let files: Record<string, File> = {};
      if (endpoint.multipart) {
        ({ fields: rawBody, files } = await readForm(req, {
          maxFileBytes: endpoint.maxUploadBytes ?? env().UPLOAD_MAX_BYTES,
          beforeFiles: fromBody
            ? async (fields) => {
                if (!fields.poolId) throw new AppError('VALIDATION', 'poolId is required, as a form field before the file', { poolId: ['required'] });
                await decide(fields);
              }
            : undefined,
        }));
      } else if (endpoint.body) {
        rawBody = await readJsonBody(req);
        if (fromBody) await decide(rawBody);
      } else if (fromBody) await decide(undefined);
      const body = endpoint.body ? endpoint.body.parse(rawBody) : undefined;
      const result = await fn({ req, actor, pool: access.pool, params, query, body, files } as HandlerContext<
        Infer<E['params']>,
        Infer<E['query']>,
        Infer<E['body']>
      >);
      if (result instanceof Response) return result;
      return NextResponse.json(result ?? { ok: true }, { status: endpoint.status ?? 200 });
    } catch (e) {
      return errorResponse(e);
    }
  };
  return Object.assign(handler, { [API_ROUTE]: endpoint });
}
