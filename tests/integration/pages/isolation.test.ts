/**
 * Pool isolation of the server-rendered pages, enumerated from the file system: every page.tsx
 * under app/ (a new page cannot be forgotten: one with a dynamic segment the test has no pool-B
 * value for fails), called as each of pool A's members (researcher, coordinator, owner):
 *
 *   1. with pool B's id (and B's study, query… for the other segments): the page must end in
 *      notFound() or a redirect, before it returns anything;
 *   2. pages under /pools/[poolId]/… with more segments: with pool A's id and B's study/query:
 *      the same;
 *   3. pages without dynamic segments (/pools, /account, admin pages…): whatever they return has
 *      nothing of pool B in it (admin pages: notFound for non-admins);
 *   4. with no session: a redirect to sign-in (except the sign-in page itself).
 *
 * Why in-process and not through a running Next server: the integration tests have no server
 * (the Playwright suite builds one, and runs as the lead's job). So each page module's default
 * export is called as Next would call it — `{ params, searchParams }` as promises — with the
 * session seam stubbed: lib/auth/page.ts gets the actor from lib/auth/actor's actorFromSession,
 * which is replaced here by the test's actor. Everything else is real: pagePool/pageAdmin, the
 * access decision, PostgreSQL, and the page's own data access. The returned element tree (with
 * the props handed to client components, which is where data goes) is searched for pool B's
 * markers. Positive controls render the same pages for pool A, so a stub that always failed
 * would be noticed. Nested server components are not rendered; pages hand them ids the page has
 * already checked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Actor } from '@/lib/auth/actor';
import { NOT_FOUND_TITLE } from '@/lib/auth/page';
import { db } from '@/lib/db';
import { actorOf } from '../../helpers/fixtures';
import { buildIsolationWorld, type IsolationWorld } from '../api/isolation-world';

vi.mock('server-only', () => ({}));
const session = vi.hoisted(() => ({ actor: null as Actor | null }));
vi.mock('@/lib/auth/actor', async (importOriginal) => ({ ...(await importOriginal<typeof import('@/lib/auth/actor')>()), actorFromSession: async () => session.actor }));

const APP = path.resolve(import.meta.dirname, '..', '..', '..', 'app');

interface PageFile {
  /** e.g. /pools/[poolId]/studies/[studyId] */
  route: string;
  file: string;
  segments: string[];
}

function pageFiles(): PageFile[] {
  const out: PageFile[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'api' && e.name !== 'dicomweb') walk(p);
      } else if (e.name === 'page.tsx' || e.name === 'page.ts') {
        const rel = path.relative(APP, path.dirname(p));
        const route = '/' + rel.split(path.sep).filter(Boolean).join('/');
        out.push({ route: route === '/.' ? '/' : route, file: p, segments: [...route.matchAll(/\[(\w+)\]/g)].map((m) => m[1]) });
      }
    }
  };
  walk(APP);
  return out.sort((a, b) => a.route.localeCompare(b.route));
}

type PageModule = {
  default: (props: { params: Promise<Record<string, string>>; searchParams: Promise<Record<string, string>> }) => unknown;
  metadata?: { title?: unknown };
  generateMetadata?: (props: { params: Promise<Record<string, string>> }) => Promise<{ title?: unknown }>;
};

/** The page's own title part (the root layout's template appends " · Tributary"), as Next resolves it. */
async function titleOf(page: PageFile, params: Record<string, string>, actor: Actor | null): Promise<string> {
  session.actor = actor;
  try {
    const mod = (await import(/* @vite-ignore */ page.file)) as PageModule;
    const meta = mod.generateMetadata ? await mod.generateMetadata({ params: Promise.resolve(params) }) : mod.metadata;
    return String(meta?.title ?? '');
  } finally {
    session.actor = null;
  }
}

type Outcome = { kind: 'not-found' } | { kind: 'redirect'; to: string } | { kind: 'rendered'; text: string };

/** Every string and number reachable from a React element tree (props included), joined. */
function textOf(node: unknown, seen = new Set<unknown>()): string {
  if (node === null || node === undefined || typeof node === 'boolean' || typeof node === 'function' || typeof node === 'symbol') return '';
  if (typeof node === 'string' || typeof node === 'number' || typeof node === 'bigint') return String(node) + '\n';
  if (node instanceof Date) return node.toISOString() + '\n';
  if (typeof node !== 'object' || seen.has(node)) return '';
  seen.add(node);
  if (Array.isArray(node)) return node.map((n) => textOf(n, seen)).join('');
  const o = node as Record<string, unknown>;
  // A React element: its key and props (children included); its component is a function.
  if ('$$typeof' in o) return textOf(o.key, seen) + textOf(o.props, seen);
  return Object.entries(o).map(([k, v]) => `${k}\n${textOf(v, seen)}`).join('');
}

async function render(page: PageFile, params: Record<string, string>, actor: Actor | null, searchParams: Record<string, string> = {}): Promise<Outcome> {
  session.actor = actor;
  const mod = (await import(/* @vite-ignore */ page.file)) as PageModule;
  try {
    const el = await mod.default({ params: Promise.resolve(params), searchParams: Promise.resolve(searchParams) });
    return { kind: 'rendered', text: textOf(el) };
  } catch (e) {
    const digest = (e as { digest?: unknown }).digest;
    if (typeof digest === 'string' && digest.startsWith('NEXT_HTTP_ERROR_FALLBACK;404')) return { kind: 'not-found' };
    if (typeof digest === 'string' && digest.startsWith('NEXT_REDIRECT')) return { kind: 'redirect', to: digest.split(';')[2] ?? '' };
    throw e;
  } finally {
    session.actor = null;
  }
}

let w: IsolationWorld;
let members: Record<string, Actor>;
/** Pool A's own study and query (positive controls). */
let studyA: string;
let queryA: string;
const pages = pageFiles();

/** Dynamic segments: pool B's values. */
const valuesB = () => ({ poolId: w.poolB.id, id: w.poolB.id, studyId: w.ids.studyB, queryId: w.queryB });

beforeAll(async () => {
  w = await buildIsolationWorld();
  const users = await db.user.findMany({ where: { id: { in: [w.ids.researcherA, w.ids.coordA, w.ids.ownerA] } } });
  const byId = new Map(users.map((u) => [u.id, u]));
  members = {
    'researcher of A': actorOf(byId.get(w.ids.researcherA)!),
    'coordinator of A': actorOf(byId.get(w.ids.coordA)!),
    'owner of A': actorOf(byId.get(w.ids.ownerA)!),
  };
  studyA = (await db.study.create({ data: { poolId: w.poolA.id, studyInstanceUid: `2.25.4${Date.now()}`, patientId: 'TRB-A-1', studyDescription: 'A STUDY' } })).id;
  queryA = (await db.query.create({ data: { poolId: w.poolA.id, connectorId: w.ids.connector, createdById: w.ids.coordA, status: 'DONE' } })).id;
});

afterAll(async () => {
  for (const c of w?.cleanups ?? []) await c();
});

function expectNoB(text: string, what: string) {
  for (const m of w.markers) expect(text.includes(m), `${what} shows pool B (${m})`).toBe(false);
}

describe('pages are enumerated from app/', () => {
  it('finds the pool pages', () => {
    const routes = pages.map((p) => p.route);
    for (const r of ['/pools', '/pools/[poolId]', '/pools/[poolId]/studies/[studyId]', '/pools/[poolId]/settings', '/pools/[poolId]/viewers', '/admin/pools/[id]']) expect(routes).toContain(r);
  });

  it('has a pool-B value for every dynamic segment', () => {
    for (const p of pages) for (const s of p.segments) expect(valuesB(), `${p.route}: no pool-B value for [${s}]`).toHaveProperty(s);
  });
});

describe('a member of pool A sees no page of pool B', () => {
  for (const page of pages) {
    it(`${page.route}`, async () => {
      for (const [who, actor] of Object.entries(members)) {
        const b = valuesB();
        const params = Object.fromEntries(page.segments.map((s) => [s, b[s as keyof typeof b]]));
        const out = await render(page, params, actor, { q: 'x', version: '7' });
        if (page.segments.length > 0 || page.route.startsWith('/admin')) {
          expect(out.kind, `${who}: ${page.route} with pool B's ids ${out.kind === 'rendered' ? 'rendered' : ''}`).not.toBe('rendered');
          if (out.kind === 'redirect') expect(out.to, `${who}: ${page.route} redirects to`).not.toContain(w.poolB.id);
        }
        if (out.kind === 'rendered') expectNoB(out.text, `${who}: ${page.route}`);
        // The title is resolved apart from the page: it must not name pool B either.
        const title = await titleOf(page, params, actor);
        expectNoB(title, `${who}: ${page.route} title`);
        if (page.route.startsWith('/pools/[poolId]')) expect(title, `${who}: ${page.route} title`).toBe(NOT_FOUND_TITLE);
        if (out.kind === 'redirect') expectNoB(out.to, `${who}: ${page.route} (redirect)`);

        // Pool A's page with B's other ids.
        if (page.route.startsWith('/pools/[poolId]/') && page.segments.length > 1) {
          const cross = { ...params, poolId: w.poolA.id };
          const outA = await render(page, cross, actor);
          expect(outA.kind, `${who}: ${page.route} in pool A with B's ${page.segments.slice(1).join(', ')}`).not.toBe('rendered');
          if (outA.kind === 'redirect') expectNoB(outA.to, `${who}: ${page.route} in pool A (redirect)`);
        }
      }
    });
  }
});

describe('positive controls and sign-in', () => {
  it('renders every pool page for pool A’s owner (so the stub and the pages work)', async () => {
    const owner = members['owner of A'];
    const poolAName = (await db.pool.findUniqueOrThrow({ where: { id: w.poolA.id } })).name;
    const valuesA = { poolId: w.poolA.id, studyId: studyA, queryId: queryA };
    for (const page of pages.filter((p) => p.route.startsWith('/pools'))) {
      const params = Object.fromEntries(page.segments.map((s) => [s, valuesA[s as keyof typeof valuesA]]));
      const out = await render(page, params, owner);
      expect(out.kind, `${page.route} for A's owner`).toBe('rendered');
      // Every pool page's title names the pool it shows ("Cardiac cohort · Studies").
      const title = await titleOf(page, params, owner);
      if (page.segments.length) expect(title.startsWith(`${poolAName} · `) && title.length > poolAName.length + 3, `${page.route} title for A's owner: ${title}`).toBe(true);
      else expect(title, `${page.route} title`).not.toBe('');
      if (out.kind === 'rendered') {
        if (page.segments.length) expect(out.text, page.route).toContain(w.poolA.id);
        expectNoB(out.text, `${page.route} for A's owner`);
      }
    }
  });

  it('sends a visitor without a session to sign in', async () => {
    for (const page of pages.filter((p) => p.route !== '/signin')) {
      const b = valuesB();
      const out = await render(page, Object.fromEntries(page.segments.map((s) => [s, b[s as keyof typeof b]])), null);
      expect(out.kind, page.route).toBe('redirect');
      if (out.kind === 'redirect' && page.route !== '/') expect(out.to, page.route).toMatch(/^\/signin/);
      expectNoB(await titleOf(page, Object.fromEntries(page.segments.map((s) => [s, b[s as keyof typeof b]])), null), `${page.route} title without a session`);
    }
  });
});
