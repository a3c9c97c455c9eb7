import { describe, expect, it } from 'vitest';
import { decidePool } from '@/lib/auth/access';
import type { Actor } from '@/lib/auth/actor';

const actor = (role: Actor['role'], tokenPoolId: string | null = null): Actor => ({ userId: 'u', email: 'e', name: 'n', role, tokenPoolId, via: tokenPoolId ? 'token' : 'session' });

describe('decidePool: the one access decision', () => {
  it('hides pools from non-members (not-found, never forbidden)', () => {
    for (const need of ['read', 'coordinate', 'own', 'rules', 'identity'] as const) {
      expect(decidePool(actor('RESEARCHER'), 'p1', null, need)).toBe('not-found');
      expect(decidePool(actor('COORDINATOR'), 'p1', null, need)).toBe('not-found');
    }
  });

  it('lets any member read; only owners and coordinators coordinate', () => {
    expect(decidePool(actor('RESEARCHER'), 'p1', 'RESEARCHER', 'read')).toBe('allow');
    expect(decidePool(actor('RESEARCHER'), 'p1', 'RESEARCHER', 'coordinate')).toBe('forbidden');
    expect(decidePool(actor('COORDINATOR'), 'p1', 'COORDINATOR', 'coordinate')).toBe('allow');
    expect(decidePool(actor('RESEARCHER'), 'p1', 'OWNER', 'coordinate')).toBe('allow');
    expect(decidePool(actor('COORDINATOR'), 'p1', 'COORDINATOR', 'own')).toBe('forbidden');
  });

  it('gives the identity map to pool owners only, not to admins', () => {
    expect(decidePool(actor('ADMIN'), 'p1', null, 'identity')).toBe('forbidden');
    expect(decidePool(actor('ADMIN'), 'p1', 'COORDINATOR', 'identity')).toBe('forbidden');
    expect(decidePool(actor('RESEARCHER'), 'p1', 'OWNER', 'identity')).toBe('allow');
  });

  it('lets only the pool owner ingest (STOW-RS): not coordinators, admins or pool-scoped tokens', () => {
    expect(decidePool(actor('RESEARCHER'), 'p1', 'OWNER', 'ingest')).toBe('allow');
    expect(decidePool(actor('COORDINATOR'), 'p1', 'COORDINATOR', 'ingest')).toBe('forbidden');
    expect(decidePool(actor('RESEARCHER'), 'p1', 'RESEARCHER', 'ingest')).toBe('forbidden');
    expect(decidePool(actor('ADMIN'), 'p1', null, 'ingest')).toBe('forbidden');
    expect(decidePool(actor('ADMIN'), 'p1', 'COORDINATOR', 'ingest')).toBe('forbidden');
    expect(decidePool(actor('RESEARCHER', 'p1'), 'p1', 'OWNER', 'ingest')).toBe('forbidden');
    expect(decidePool(actor('COORDINATOR'), 'p1', null, 'ingest')).toBe('not-found');
  });

  it('lets owners and researchers export; not coordinators, admins by being admins, or pool-scoped tokens', () => {
    expect(decidePool(actor('RESEARCHER'), 'p1', 'OWNER', 'export')).toBe('allow');
    expect(decidePool(actor('RESEARCHER'), 'p1', 'RESEARCHER', 'export')).toBe('allow');
    expect(decidePool(actor('COORDINATOR'), 'p1', 'COORDINATOR', 'export')).toBe('forbidden');
    expect(decidePool(actor('ADMIN'), 'p1', null, 'export')).toBe('forbidden');
    expect(decidePool(actor('RESEARCHER', 'p1'), 'p1', 'RESEARCHER', 'export')).toBe('forbidden');
    expect(decidePool(actor('RESEARCHER', 'p2'), 'p1', 'RESEARCHER', 'export')).toBe('not-found');
    expect(decidePool(actor('RESEARCHER'), 'p1', null, 'export')).toBe('not-found');
  });

  it('lets admins read, coordinate and manage (own) every pool', () => {
    for (const need of ['read', 'coordinate', 'own'] as const) expect(decidePool(actor('ADMIN'), 'p1', null, need)).toBe('allow');
  });

  it('never lets an admin account save rules or read identity, even holding pool role OWNER (separation of duties)', () => {
    for (const need of ['rules', 'identity'] as const) {
      expect(decidePool(actor('ADMIN'), 'p1', 'OWNER', need)).toBe('forbidden');
      expect(decidePool(actor('ADMIN'), 'p1', null, need)).toBe('forbidden');
      expect(decidePool(actor('ADMIN', 'p1'), 'p1', 'OWNER', need)).toBe('forbidden');
    }
    expect(decidePool(actor('ADMIN'), 'p1', 'OWNER', 'own')).toBe('allow');
  });

  it('lets only the pool owner save rules', () => {
    expect(decidePool(actor('RESEARCHER'), 'p1', 'OWNER', 'rules')).toBe('allow');
    expect(decidePool(actor('COORDINATOR'), 'p1', 'OWNER', 'rules')).toBe('allow');
    expect(decidePool(actor('COORDINATOR'), 'p1', 'COORDINATOR', 'rules')).toBe('forbidden');
    expect(decidePool(actor('RESEARCHER'), 'p1', 'RESEARCHER', 'rules')).toBe('forbidden');
    expect(decidePool(actor('RESEARCHER', 'p1'), 'p1', 'OWNER', 'rules')).toBe('forbidden');
  });

  it('limits a pool-scoped token to reading its own pool', () => {
    expect(decidePool(actor('RESEARCHER', 'p1'), 'p1', 'RESEARCHER', 'read')).toBe('allow');
    expect(decidePool(actor('RESEARCHER', 'p1'), 'p2', 'RESEARCHER', 'read')).toBe('not-found');
    expect(decidePool(actor('ADMIN', 'p1'), 'p2', null, 'read')).toBe('not-found');
    expect(decidePool(actor('COORDINATOR', 'p1'), 'p1', 'OWNER', 'coordinate')).toBe('forbidden');
    // A token of a user who has since left the pool reaches nothing.
    expect(decidePool(actor('RESEARCHER', 'p1'), 'p1', null, 'read')).toBe('not-found');
  });
});
