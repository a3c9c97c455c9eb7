/**
 * Accessibility over every page (tests/e2e/a11y.ts): no serious or critical axe violation, for
 * each role's pages. Runs last (files run in name order, one worker), so the study and query
 * pages made by coordinator-path.spec.ts are included.
 */
import { expect, test } from '@playwright/test';
import { sweep, type Role } from './a11y';

const ROLES: Role[] = ['anonymous', 'researcher', 'coordinator', 'owner', 'admin'];

for (const role of ROLES) {
  test(`every ${role} page passes axe (WCAG 2.1 AA: no serious or critical violation)`, async ({ browser }) => {
    const { violations, visited } = await sweep(browser, role);
    expect(visited.length).toBeGreaterThan(0);
    expect(violations, violations.join('\n')).toEqual([]);
  });
}
