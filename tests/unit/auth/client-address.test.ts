/**
 * Which address the per-address sign-in limit counts: X-Forwarded-For only as far as configured
 * proxies vouch for it, otherwise the connection's address (set by scripts/peer-address.cjs).
 */
import { describe, expect, it } from 'vitest';
import { clientAddress, PEER_HEADER } from '@/lib/auth/client-address';

describe('client address', () => {
  it('ignores X-Forwarded-For without a trusted proxy: the connection address, or unknown', () => {
    const h = { 'x-forwarded-for': '203.0.113.9', [PEER_HEADER]: '198.51.100.7' };
    expect(clientAddress(h, 0, true)).toBe('198.51.100.7');
    expect(clientAddress({ 'x-forwarded-for': '203.0.113.9' }, 0, true)).toBeNull();
    // Without the preload the peer header is whatever the client wrote: not believed.
    expect(clientAddress(h, 0, false)).toBeNull();
  });

  it('behind one proxy takes the address that proxy appended, not what the client prepended', () => {
    // Client forged "1.1.1.1"; the proxy (198.51.100.7, the peer) appended the real 203.0.113.9.
    const h = { 'x-forwarded-for': '1.1.1.1, 203.0.113.9', [PEER_HEADER]: '198.51.100.7' };
    expect(clientAddress(h, 1, true)).toBe('203.0.113.9');
    // Without the peer header (Next kept the proxy's header as it was): the last entry.
    expect(clientAddress({ 'x-forwarded-for': '1.1.1.1, 203.0.113.9' }, 1, false)).toBe('203.0.113.9');
  });

  it('behind two proxies counts two hops back', () => {
    const h = { 'x-forwarded-for': '1.1.1.1, 203.0.113.9, 10.0.0.2', [PEER_HEADER]: '10.0.0.3' };
    expect(clientAddress(h, 2, true)).toBe('203.0.113.9');
    expect(clientAddress({ 'x-forwarded-for': '1.1.1.1, 203.0.113.9, 10.0.0.2' }, 2, false)).toBe('203.0.113.9');
  });

  it('with fewer entries than hops takes the farthest one there is', () => {
    expect(clientAddress({ 'x-forwarded-for': '203.0.113.9', [PEER_HEADER]: '10.0.0.3' }, 3, true)).toBe('203.0.113.9');
    expect(clientAddress({}, 2, false)).toBeNull();
  });
});
