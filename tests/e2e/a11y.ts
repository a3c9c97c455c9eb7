/**
 * The accessibility sweep's helper: every page of the app, visited as the role that may open it,
 * checked with axe-core (WCAG 2.1 A and AA rules) and photographed at the suite's viewport
 * (1366×900) into test-results/screens/page-*.png for a person to look at.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Browser, Page } from '@playwright/test';
import { signIn, world } from './state';

export type Role = 'anonymous' | 'researcher' | 'coordinator' | 'owner' | 'admin';

export interface Visit {
  name: string;
  url: string;
  status?: number;
}

/** Serious and critical violations on the page as it is now, one line each (empty: none). */
export async function axeViolations(page: Page, label: string): Promise<string[]> {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${label}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes
      .slice(0, 4)
      .map((n) => `${n.target.join(' ')}${n.failureSummary ? ` [${n.failureSummary.replace(/\s+/g, ' ').slice(0, 160)}]` : ''}`)
      .join(' | ')}`);
}

/** The first link on the current page whose address matches, or null. */
async function firstHref(page: Page, pattern: RegExp): Promise<string | null> {
  const hrefs = await page.locator('main a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
  return hrefs.find((h) => pattern.test(h)) ?? null;
}

/** The pages each role sees, including pages found by following links (a study, a query). */
export async function routesFor(page: Page, role: Role): Promise<Visit[]> {
  const w = world();
  const a = w.pools.a;
  switch (role) {
    case 'anonymous':
      return [{ name: 'signin', url: '/signin' }];
    case 'researcher': {
      await page.goto(`/pools/${a}`);
      const study = await firstHref(page, /^\/pools\/[^/]+\/studies\/[^/?#]+$/);
      return [
        { name: 'pools', url: '/pools' },
        { name: 'pool-studies', url: `/pools/${a}` },
        ...(study ? [{ name: 'study', url: study }] : []),
        { name: 'pool-viewers', url: `/pools/${a}/viewers` },
        { name: 'pool-exports', url: `/pools/${a}/exports` },
        { name: 'account', url: '/account' },
        { name: 'notifications', url: '/notifications' },
        { name: 'not-found', url: `/pools/${w.pools.b}`, status: 404 },
      ];
    }
    case 'coordinator': {
      await page.goto(`/pools/${a}/query`);
      const query = await firstHref(page, /^\/pools\/[^/]+\/queries\/[^/?#]+$/);
      return [{ name: 'pool-query', url: `/pools/${a}/query` }, ...(query ? [{ name: 'query-detail', url: query }] : [])];
    }
    case 'owner':
      return [
        { name: 'pool-settings', url: `/pools/${a}/settings` },
        { name: 'pool-identity', url: `/pools/${a}/identity` },
        { name: 'pool-quarantine', url: `/pools/${a}/quarantine` },
        { name: 'pool-exporters', url: `/pools/${a}/exporters` },
        { name: 'pool-exports-owner', url: `/pools/${a}/exports` },
      ];
    case 'admin':
      return [
        { name: 'admin-users', url: '/admin/users' },
        { name: 'admin-devices', url: '/admin/devices' },
        { name: 'admin-connectors', url: '/admin/connectors' },
        { name: 'admin-destinations', url: '/admin/destinations' },
        { name: 'admin-pools', url: '/admin/pools' },
        { name: 'admin-pool', url: `/admin/pools/${a}` },
        { name: 'admin-queues', url: '/admin/queues' },
        { name: 'admin-audit', url: '/admin/audit' },
      ];
  }
}

const USERS: Record<Exclude<Role, 'anonymous'>, keyof ReturnType<typeof world>['users']> = {
  researcher: 'researcherA',
  coordinator: 'coordinator',
  owner: 'ownerA',
  admin: 'admin',
};

/** Visits every page of `role`, returns the violations found and the pages visited. */
export async function sweep(browser: Browser, role: Role): Promise<{ violations: string[]; visited: string[] }> {
  const w = world();
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  try {
    if (role !== 'anonymous') await signIn(page, w.users[USERS[role]], w.password);
    const violations: string[] = [];
    const visited: string[] = [];
    for (const v of await routesFor(page, role)) {
      const res = await page.goto(v.url);
      if ((res?.status() ?? 0) !== (v.status ?? 200)) violations.push(`${v.name}: HTTP ${res?.status()} at ${v.url}`);
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: `test-results/screens/page-${v.name}.png` });
      violations.push(...(await axeViolations(page, `${role} ${v.name}`)));
      visited.push(v.name);
    }
    return { violations, visited };
  } finally {
    await ctx.close();
  }
}
