/**
 * OHIF's static files (the prebuilt viewer scripts/fetch-ohif.mjs puts in
 * node_modules/.ohif/<version>/dist): which /viewer path names which file, with what type and
 * caching, and their gzip copies.
 *
 * Plain CommonJS because two places use it: the app's route (app/viewer/[[...path]]/route.ts,
 * through lib/viewers/ohif-serve.ts) and the web process's preload (scripts/peer-address.cjs),
 * which answers GET/HEAD for these public, content-hashed files before Next.js sees the request.
 * Why the preload: a Next.js route handler cannot send a response that is already compressed
 * (Next drops Content-Encoding and Content-Length from it and gzips the body itself), so every
 * first visit cost the web process a gzip of OHIF's 17 MB app bundle (~0.4 s of CPU on the path
 * to the first image). The preload sends the `.gz` made once at fetch time instead.
 * Pages and the per-pool configuration (which need a session) always go to the route.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const OHIF_VERSION = '3.13.2';
/** Kept in step with scripts/fetch-ohif.mjs (the bundles' webpack public path). */
const VIEWER_BASE = '/viewer/';

function ohifDistDir() {
  return path.join(process.cwd(), 'node_modules', '.ohif', OHIF_VERSION, 'dist');
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.jpg': 'image/jpeg',
  '.gif': 'image/gif',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.xml': 'application/xml; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.onnx': 'application/octet-stream',
  '.data': 'application/octet-stream',
};

function contentTypeOf(file) {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Bundles, WASM and fonts carry a content hash in their names (`app.bundle.0f61….js`,
 * `5130ccb17e3f3f5b.wasm`): cached for a year. Other files for an hour.
 */
function cacheControlOf(file) {
  const base = path.basename(file);
  return /(^|\.)[0-9a-f]{16,}\.(js|css|wasm|woff2?)$/.test(base) ? 'public, max-age=31536000, immutable' : 'public, max-age=3600';
}

/** Files OHIF's own deployments need but this one must not serve (nor their gzip copies). */
const NOT_SERVED = new Set(['index.html', 'app-config.js', 'sw.js', 'init-service-worker.js', '_headers', '_redirects', 'serve.json']);

/**
 * The dist file a /viewer path names, or null. Path segments are checked one by one (no `..`,
 * no hidden files, no backslashes or NULs), and the resolved path must stay inside dist/.
 */
function staticFile(segments, dist = ohifDistDir()) {
  if (segments.length === 0) return null;
  if (segments.some((s) => !s || s === '.' || s === '..' || s.startsWith('.') || /[\\\0]/.test(s))) return null;
  if (segments.length === 1 && NOT_SERVED.has(segments[0].replace(/\.gz$/, ''))) return null;
  const file = path.resolve(dist, ...segments);
  if (!file.startsWith(dist + path.sep)) return null;
  try {
    return fs.statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

/** Whether an Accept-Encoding header accepts gzip (not `gzip;q=0`). */
function acceptsGzip(acceptEncoding) {
  if (!acceptEncoding) return false;
  return acceptEncoding.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== '*') return false;
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    return q === undefined || Number(q) > 0;
  });
}

/** The `.gz` beside a static file when the client accepts gzip and the copy exists, else null. */
function gzipCopyOf(file, acceptEncoding) {
  if (!acceptsGzip(acceptEncoding)) return null;
  try {
    return fs.statSync(`${file}.gz`).isFile() ? `${file}.gz` : null;
  } catch {
    return null;
  }
}

/**
 * Answers a GET or HEAD for one of OHIF's static files, gzip copy preferred; returns false (and
 * touches nothing) for anything else: other methods, other paths, pool pages and configurations
 * (`/viewer/<poolId>/…` names no file in dist), missing files.
 */
function serveOhifStatic(req, res, dist = ohifDistDir()) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const url = req.url || '';
  if (!url.startsWith(VIEWER_BASE)) return false;
  const pathname = url.split('?')[0];
  let segments;
  try {
    segments = pathname.slice(VIEWER_BASE.length).split('/').map(decodeURIComponent);
  } catch {
    return false;
  }
  const file = staticFile(segments, dist);
  if (!file) return false;
  const gz = gzipCopyOf(file, req.headers['accept-encoding']);
  const body = gz ?? file;
  let size;
  try {
    size = fs.statSync(body).size;
  } catch {
    return false;
  }
  const headers = {
    'Content-Type': contentTypeOf(file),
    'Content-Length': String(size),
    'Cache-Control': cacheControlOf(file),
    Vary: 'Accept-Encoding',
    'X-Content-Type-Options': 'nosniff',
  };
  if (gz) headers['Content-Encoding'] = 'gzip';
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  const stream = fs.createReadStream(body);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
  return true;
}

module.exports = { OHIF_VERSION, VIEWER_BASE, ohifDistDir, contentTypeOf, cacheControlOf, staticFile, acceptsGzip, gzipCopyOf, serveOhifStatic };
