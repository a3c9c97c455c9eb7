/**
 * CORS for a viewer served from another origin (OHIF on its own host). Off unless
 * DICOMWEB_CORS_ORIGINS lists origins. Credentials (cookies) are never allowed cross-origin: a
 * viewer on another origin authenticates with `Authorization: Bearer`, so a page on an allowed
 * origin cannot ride a user's session cookie.
 */
import { env } from '../env';

const EXPOSED = 'Content-Type, Content-Length, Content-Location, Warning';
const ALLOWED_HEADERS = 'Authorization, Accept, Content-Type, Cache-Control, Pragma, X-Requested-With';

export function allowedOrigins(): string[] {
  return env()
    .DICOMWEB_CORS_ORIGINS.split(',')
    .map((o) => o.trim().replace(/\/$/, ''))
    .filter(Boolean);
}

/** Headers for a response to `req`: none unless its Origin is allowed. */
export function corsHeaders(req: Request): Record<string, string> {
  const origin = req.headers.get('origin');
  if (!origin) return {};
  const allowed = allowedOrigins();
  if (!allowed.includes('*') && !allowed.includes(origin)) return {};
  return {
    'Access-Control-Allow-Origin': allowed.includes('*') ? '*' : origin,
    'Access-Control-Expose-Headers': EXPOSED,
    Vary: 'Origin',
  };
}

/** Answer to a preflight (OPTIONS). Without an allowed origin it is a plain 204 with Allow. */
export function preflightResponse(req: Request): Response {
  const headers: Record<string, string> = { Allow: 'GET, POST, OPTIONS', ...corsHeaders(req) };
  if (headers['Access-Control-Allow-Origin']) {
    headers['Access-Control-Allow-Methods'] = 'GET, POST, OPTIONS';
    headers['Access-Control-Allow-Headers'] = ALLOWED_HEADERS;
    headers['Access-Control-Max-Age'] = '600';
  }
  return new Response(null, { status: 204, headers });
}
