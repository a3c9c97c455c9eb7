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

// Static files (paths, types, caching, gzip copies) live in ohif-static.cjs, shared with the web
// process's preload (scripts/peer-address.cjs), which serves them before Next.js does.
export { OHIF_VERSION, VIEWER_BASE, acceptsGzip, cacheControlOf, contentTypeOf, gzipCopyOf, ohifDistDir, staticFile } from './ohif-static.cjs';
import { VIEWER_BASE, ohifDistDir } from './ohif-static.cjs';

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
