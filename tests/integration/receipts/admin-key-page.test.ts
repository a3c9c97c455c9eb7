/**
 * The admin Queues page shows the receipt signing key (key id, fingerprint, PEM) so it can be
 * handed to recipients to pin; never the private key. Rendered in-process as Next would call it,
 * with the session seam stubbed (as tests/integration/pages/isolation.test.ts does).
 */
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import type { Actor } from '@/lib/auth/actor';
import { db } from '@/lib/db';
import { installationPublicKey } from '@/lib/receipts';
import { decryptSecret } from '@/lib/secrets';
import { ReceiptKeyPanel } from '@/components/admin/receipt-key';
import { actorOf, makeUser } from '../../helpers/fixtures';

vi.mock('server-only', () => ({}));
const session = vi.hoisted(() => ({ actor: null as Actor | null }));
vi.mock('@/lib/auth/actor', async (importOriginal) => ({ ...(await importOriginal<typeof import('@/lib/auth/actor')>()), actorFromSession: async () => session.actor }));

function textOf(node: unknown, seen = new Set<unknown>()): string {
  if (node == null || typeof node === 'boolean') return '';
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  if (typeof node !== 'object' || seen.has(node)) return '';
  seen.add(node);
  if (Array.isArray(node)) return node.map((n) => textOf(n, seen)).join('');
  const o = node as Record<string, unknown>;
  if ('$$typeof' in o) return textOf(o.props, seen);
  return Object.values(o).map((v) => textOf(v, seen)).join('\n');
}

describe('admin Queues page', () => {
  it('hands the installation public key and fingerprint to the panel, and the panel shows them, not the private key', async () => {
    const admin = await makeUser('ADMIN');
    session.actor = actorOf(admin);
    const { default: QueuesPage } = await import('@/app/admin/queues/page');
    const tree = await QueuesPage();
    session.actor = null;
    const key = await installationPublicKey();
    const text = textOf(tree);
    expect(text).toContain(key.keyId);
    expect(text).toContain(key.publicKeyPem);

    const html = renderToStaticMarkup(createElement(ReceiptKeyPanel, { k: key }));
    expect(html).toContain('Receipt signing key');
    expect(html).toContain(key.keyId);
    expect(html).toContain(key.fingerprint);
    expect(html).toContain('BEGIN PUBLIC KEY');
    const row = await db.signingKey.findUniqueOrThrow({ where: { id: key.keyId } });
    const privatePem = decryptSecret(row.privateKey);
    for (const secret of [row.privateKey, privatePem.split('\n')[1]]) {
      expect(html).not.toContain(secret);
      expect(text).not.toContain(secret);
    }
  });

  it('is not shown to a non-admin', async () => {
    const u = await makeUser('RESEARCHER');
    session.actor = actorOf(u);
    const { default: QueuesPage } = await import('@/app/admin/queues/page');
    await expect(QueuesPage()).rejects.toMatchObject({ digest: expect.stringMatching(/^NEXT_HTTP_ERROR_FALLBACK;404/) });
    session.actor = null;
  });
});
