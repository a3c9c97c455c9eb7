/**
 * Cross-site request forgery: a session cookie is sent by the browser whatever page made the
 * request, so a request that changes state on the strength of that cookie alone must come from one
 * of our own pages. Browsers send `Origin` with every POST/PUT/PATCH/DELETE (same-origin fetches
 * and forms included); `Referer` is the fallback when a browser or proxy drops `Origin`. Both
 * must name PUBLIC_URL's origin. `Origin: null` (sandboxed frames, some redirects) is refused.
 *
 * Bearer tokens (API and viewer tokens) are not ambient credentials: a foreign page cannot make
 * the browser attach them, so they are not checked here. next-auth's own routes
 * (/api/auth/*) keep next-auth's double-submit CSRF token.
 */
import { env } from '../env';
import { AppError } from '../errors';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** Throws 403 unless a state-changing request names our own origin (safe methods pass). */
export function requireSameOrigin(req: Request): void {
  if (SAFE_METHODS.has(req.method.toUpperCase())) return;
  const expected = originOf(env().PUBLIC_URL);
  const origin = req.headers.get('origin');
  const referer = req.headers.get('referer');
  const from = origin !== null ? origin : referer ? originOf(referer) : null;
  if (from && from === expected) return;
  throw new AppError(
    'FORBIDDEN',
    from
      ? 'This request changes data with your sign-in cookie but comes from another site, so it was refused. Use Tributary from its own address, or send an API token (Authorization: Bearer) from scripts.'
      : 'This request changes data with your sign-in cookie but carries no Origin or Referer header, so it was refused. Browsers send one; scripts should use an API token (Authorization: Bearer).',
  );
}
