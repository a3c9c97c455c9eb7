/**
 * Where to go after signing in: a path on this site only. `?callbackUrl=` is attacker-chosen (a
 * link in a phishing mail), so an absolute URL, a protocol-relative `//host`, a backslash form
 * browsers read as one (`/\host`, `\\host`) or anything with control characters falls back to
 * the default. Browser-safe (the sign-in form uses it) and used by next-auth's redirect callback.
 */
export const DEFAULT_AFTER_SIGNIN = '/pools';

export function safeCallbackPath(raw: unknown, fallback = DEFAULT_AFTER_SIGNIN): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2000) return fallback;
  // Only a single leading slash; browsers treat "\" like "/" and drop tabs/newlines in URLs.
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\')) return fallback;
  if (/[\u0000-\u001f\u007f]/.test(raw)) return fallback;
  let u: URL;
  try {
    u = new URL(raw, 'http://tributary.invalid');
  } catch {
    return fallback;
  }
  if (u.origin !== 'http://tributary.invalid') return fallback;
  const path = u.pathname + u.search + u.hash;
  // Dot segments can collapse into a protocol-relative form: "/..//elsewhere" -> "//elsewhere".
  return path.startsWith('//') ? fallback : path;
}

/**
 * next-auth's `redirect` callback: `url` may be relative or absolute; only this site's origin
 * is kept (then as its path), everything else goes to the default page.
 */
export function safeRedirect(url: string, baseUrl: string): string {
  const base = baseUrl.replace(/\/$/, '');
  let candidate: unknown = url;
  if (!url.startsWith('/')) {
    try {
      const u = new URL(url);
      candidate = u.origin === new URL(base).origin ? u.pathname + u.search + u.hash : null;
    } catch {
      candidate = null;
    }
  }
  return base + safeCallbackPath(candidate);
}
