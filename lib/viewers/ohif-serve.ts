/**
 * OHIF served from the app's own origin under /viewer (app/viewer/[[...path]]/route.ts):
 *
 *   /viewer/<file>                 the prebuilt viewer's static files (scripts/fetch-ohif.mjs puts
 *                                  them in node_modules/.ohif/<version>/dist)
 *   /viewer/<poolId>/app-config.js OHIF's configuration for that pool, made per request: one
 *                                  DICOMweb data source, the pool's root on this origin
 *   /viewer/<poolId>/…             index.html (OHIF's client routes: the study list, /viewer?…)
 *
 * Same origin, so OHIF's requests carry the user's session cookie and the DICOMweb layer
 * (lib/dicomweb/route.ts → requirePool) decides every read: no token is minted, none is in a URL
 * or in the configuration. A pool the user may not read still gets a configuration (its id is
 * in the URL they typed); every DICOMweb request then answers 404 and OHIF shows its error with
 * no pixels.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ohifDataSource } from './ohif';

export const OHIF_VERSION = '3.13.2';
/** Kept in step with scripts/fetch-ohif.mjs (the bundles' webpack public path). */
export const VIEWER_BASE = '/viewer/';

export function ohifDistDir(): string {
  return path.join(process.cwd(), 'node_modules', '.ohif', OHIF_VERSION, 'dist');
}

const TYPES: Record<string, string> = {
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

export function contentTypeOf(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Bundles, WASM and fonts carry a content hash in their names (`app.bundle.0f61….js`,
 * `5130ccb17e3f3f5b.wasm`): cached for a year. Other files for an hour.
 */
export function cacheControlOf(file: string): string {
  const base = path.basename(file);
  return /(^|\.)[0-9a-f]{16,}\.(js|css|wasm|woff2?)$/.test(base) ? 'public, max-age=31536000, immutable' : 'public, max-age=3600';
}

/** Files OHIF's own deployments need but this one must not serve. */
const NOT_SERVED = new Set(['index.html', 'app-config.js', 'sw.js', 'init-service-worker.js', '_headers', '_redirects', 'serve.json']);

/**
 * The dist file a /viewer path names, or null. Path segments are checked one by one (no `..`,
 * no hidden files, no backslashes or NULs), and the resolved path must stay inside dist/.
 */
export function staticFile(segments: string[], dist = ohifDistDir()): string | null {
  if (segments.length === 0) return null;
  if (segments.some((s) => !s || s === '.' || s === '..' || s.startsWith('.') || /[\\\0]/.test(s))) return null;
  if (segments.length === 1 && NOT_SERVED.has(segments[0])) return null;
  const file = path.resolve(dist, ...segments);
  if (!file.startsWith(dist + path.sep)) return null;
  try {
    return fs.statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

/** Pool ids are cuids; anything else is not a pool segment (and not a file either: 404). */
export function isPoolSegment(s: string): boolean {
  return /^[a-z0-9]{20,40}$/.test(s);
}

let indexCache: string | null = null;
function distIndex(): string {
  indexCache ??= fs.readFileSync(path.join(ohifDistDir(), 'index.html'), 'utf8');
  return indexCache;
}

export interface ViewerPage {
  html: string;
  /** sha256 sources of the inline scripts, for the page's Content-Security-Policy. */
  scriptHashes: string[];
}

/**
 * OHIF's index.html for one pool: `window.PUBLIC_URL` and the asset links point at /viewer/, the
 * configuration at the pool's app-config.js, and the service-worker bootstrap is left out (it
 * unregisters every service worker of the origin and would load Workbox from Google's CDN).
 */
export function viewerIndexHtml(poolId: string, source = distIndex()): ViewerPage {
  if (!isPoolSegment(poolId)) throw new Error('not a pool id');
  let html = source
    .replace(/window\.PUBLIC_URL\s*=\s*"\/"/g, `window.PUBLIC_URL=${JSON.stringify(VIEWER_BASE)}`)
    .replace(/<script[^>]*src="\/init-service-worker\.js"[^>]*><\/script>/, '')
    .replace(/(src|href)="\/app-config\.js"/g, `$1="${VIEWER_BASE}${poolId}/app-config.js"`)
    .replace(/(src|href|content)="\/(?!viewer\/)([^"]*)"/g, `$1="${VIEWER_BASE}$2"`)
    .replace(/<title>[^<]*<\/title>/, '<title>Viewer · Tributary</title>');
  if (!html.includes(`window.PUBLIC_URL=${JSON.stringify(VIEWER_BASE)}`)) throw new Error('OHIF index.html: PUBLIC_URL not found');
  const scriptHashes: string[] = [];
  html = html.replace(/<script>([\s\S]*?)<\/script>/g, (all, body: string) => {
    scriptHashes.push(`'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`);
    return all;
  });
  return { html, scriptHashes };
}

/** OHIF's configuration for one pool: a single data source, nothing loaded from elsewhere. */
export function viewerConfig(poolId: string, poolName: string | null) {
  const source = ohifDataSource(poolId, poolName ?? 'pool');
  return {
    routerBasename: `${VIEWER_BASE}${poolId}`,
    extensions: [],
    modes: [],
    // OHIF's 11-step onboarding tour would cover the image at every first launch (and in every
    // fresh browser profile); docs/dicomweb.md says how to use the viewer instead.
    customizationService: { 'ohif.tours': { $set: [] } },
    showStudyList: true,
    maxNumberOfWebWorkers: 3,
    // Same origin: OHIF's warning about cross-origin isolation does not apply.
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: true,
    showLoadingIndicator: true,
    strictZSpacingForVolumeViewport: true,
    groupEnabledModesFirst: true,
    // A research pool is not a diagnostic workstation, but the launch must not stop at a modal
    // every time; the app's own pages say what the data are.
    investigationalUseDialog: { option: 'never' },
    maxNumRequests: { interaction: 100, thumbnail: 5, prefetch: 25 },
    showErrorDetails: 'production',
    defaultDataSourceName: source.sourceName,
    dataSources: [source],
  };
}

export function viewerConfigScript(poolId: string, poolName: string | null): string {
  return `/* Tributary: OHIF configuration for one pool, made per request (lib/viewers/ohif-serve.ts). */\nwindow.config = ${JSON.stringify(viewerConfig(poolId, poolName), null, 2)};\n`;
}

/**
 * The viewer page's Content-Security-Policy. OHIF compiles its image codecs to WebAssembly
 * ('wasm-unsafe-eval') and decodes in Web Workers it creates from its own files and from blob:
 * URLs; it styles with inline styles. Scripts: its own files and the inline bootstrap by hash.
 * Everything it fetches (DICOMweb) is on this origin.
 */
export function viewerCsp(scriptHashes: string[]): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'wasm-unsafe-eval' ${scriptHashes.join(' ')}`.trim(),
    "worker-src 'self' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self' data: blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}
