/**
 * The address a sign-in comes from, for the per-address rate limit. X-Forwarded-For is written
 * by whoever sends the request, so it is believed only as far as TRUSTED_PROXY_HOPS reverse
 * proxies are configured in front of the app (each appends the address it saw); the entry
 * those proxies added is the client. With no proxy (the default) the header is ignored.
 *
 * The connection's own address: `next start` hands route handlers no socket, and fills
 * X-Forwarded-For with the socket address only when the client sent none, so it cannot be told
 * apart from a forged one. scripts/peer-address.cjs (preloaded into `next start` by `npm start`,
 * docker-compose and the browser tests: `node -r ./scripts/peer-address.cjs …/next start`)
 * overwrites PEER_HEADER with the socket address on every request and marks the process; only
 * then is PEER_HEADER believed. Without it and without a trusted proxy the address is unknown,
 * and sign-in is limited per account only.
 */
export const PEER_HEADER = 'x-tributary-peer-address';
export const PEER_MARK = Symbol.for('tributary.peer-address-header');

type Headers = Record<string, unknown> | undefined;

function header(headers: Headers, name: string): string | null {
  const v = headers?.[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v.join(',');
  return null;
}

export function peerHeaderTrusted(): boolean {
  return (process as unknown as Record<symbol, unknown>)[PEER_MARK] === true;
}

/** The client address, or null when it cannot be known (see above). */
export function clientAddress(headers: Headers, trustedHops: number, peerTrusted = peerHeaderTrusted()): string | null {
  const peer = peerTrusted ? header(headers, PEER_HEADER)?.trim() || null : null;
  if (trustedHops <= 0) return peer;
  const forwarded = (header(headers, 'x-forwarded-for') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .reverse();
  // Nearest first: the peer (the last proxy), then what each trusted proxy appended.
  const chain = peer ? [peer, ...forwarded] : forwarded;
  const hops = peer ? trustedHops : trustedHops - 1;
  if (chain.length === 0) return null;
  return chain[Math.min(hops, chain.length - 1)];
}
