/**
 * Serving OHIF under /viewer without a server: the index page's rewrite (against the real
 * index.html of the pinned @ohif/app when scripts/fetch-ohif.mjs has run, and a small copy of its
 * shape always), the static-file resolver's refusals, the per-pool configuration and the CSP.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OHIF_VERSION, VIEWER_BASE, acceptsGzip, cacheControlOf, gzipCopyOf, contentTypeOf, isPoolSegment, ohifDistDir, staticFile, viewerConfig, viewerConfigScript, viewerCsp, viewerIndexHtml,
} from '@/lib/viewers/ohif-serve';
import { serveOhifStatic } from '@/lib/viewers/ohif-static.cjs';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';

const POOL = 'cmabc123def456ghi789jkl0';
const SHAPE =
  '<!doctype html><html><head><link rel="manifest" href="/manifest.json"><script>console.time("scriptToView"),window.PUBLIC_URL="/"</script>' +
  '<script rel="preload" as="script" src="/app-config.js"></script><script rel="preload" as="script" type="module" src="/init-service-worker.js"></script>' +
  '<title>OHIF Viewer</title><script>function browserImportFunction(n){return import(n)}window.PUBLIC_URL="/"</script>' +
  '<script defer src="/app.bundle.0f6159c501addfe9.js"></script><link href="/app.bundle.css" rel="stylesheet"></head><body><div id="root"></div></body></html>';

describe('viewerIndexHtml', () => {
  it('points PUBLIC_URL, assets and the configuration under /viewer and drops the service worker', () => {
    const { html, scriptHashes } = viewerIndexHtml(POOL, SHAPE);
    expect(html).not.toContain('window.PUBLIC_URL="/"');
    expect(html.match(/window\.PUBLIC_URL="\/viewer\/"/g)).toHaveLength(2);
    expect(html).toContain(`src="/viewer/${POOL}/app-config.js"`);
    expect(html).toContain('src="/viewer/app.bundle.0f6159c501addfe9.js"');
    expect(html).toContain('href="/viewer/app.bundle.css"');
    expect(html).toContain('href="/viewer/manifest.json"');
    expect(html).not.toContain('init-service-worker');
    expect(html).not.toMatch(/(src|href)="\/(?!viewer\/)/);
    expect(html).toContain('<title>Viewer · Tributary</title>');
    // One hash per inline script, of the script as served.
    const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`);
    expect(scriptHashes).toEqual(inline);
    expect(inline).toHaveLength(2);
  });

  it('refuses a pool segment that is not an id', () => {
    expect(() => viewerIndexHtml('../etc', SHAPE)).toThrow();
    expect(() => viewerIndexHtml('a"><script>', SHAPE)).toThrow();
  });

  it.runIf(fs.existsSync(path.join(ohifDistDir(), 'index.html')))('rewrites the index.html of the pinned @ohif/app', () => {
    const { html, scriptHashes } = viewerIndexHtml(POOL);
    expect(html).toContain('window.PUBLIC_URL="/viewer/"');
    expect(html).not.toMatch(/(src|href)="\/(?!viewer\/)/);
    expect(html).toContain(`/viewer/${POOL}/app-config.js`);
    expect(scriptHashes.length).toBeGreaterThan(0);
    // The bundles were re-pointed by scripts/fetch-ohif.mjs.
    const bundle = fs.readdirSync(ohifDistDir()).find((f) => /^app\.bundle\.[0-9a-f]+\.js$/.test(f))!;
    const text = fs.readFileSync(path.join(ohifDistDir(), bundle), 'utf8');
    expect(text).toContain('__webpack_require__.p = "/viewer/";');
    expect(text).not.toContain('__webpack_require__.p = "/";');
  });
});

describe('pinning', () => {
  it('serves the version and base path scripts/fetch-ohif.mjs prepares', () => {
    const script = fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', '..', 'scripts', 'fetch-ohif.mjs'), 'utf8');
    expect(script).toContain(`export const OHIF_VERSION = '${OHIF_VERSION}';`);
    expect(script).toContain(`export const VIEWER_BASE = '${VIEWER_BASE}';`);
    expect(ohifDistDir()).toContain(path.join('node_modules', '.ohif', OHIF_VERSION, 'dist'));
  });
});

describe('staticFile', () => {
  let dist: string;
  beforeAll(() => {
    dist = fs.mkdtempSync(path.join(os.tmpdir(), 'ohif-dist-'));
    fs.mkdirSync(path.join(dist, 'assets'));
    fs.writeFileSync(path.join(dist, 'app.bundle.0f6159c501addfe9.js'), '1');
    fs.writeFileSync(path.join(dist, 'assets', 'favicon.ico'), '1');
    fs.writeFileSync(path.join(dist, 'index.html'), '1');
    fs.writeFileSync(path.join(dist, 'app-config.js'), '1');
    fs.writeFileSync(path.join(dist, 'app-config.js.gz'), '1');
    fs.writeFileSync(path.join(dist, 'index.html.gz'), '1');
    fs.writeFileSync(path.join(dist, 'app.bundle.0f6159c501addfe9.js.gz'), 'gz');
    fs.writeFileSync(path.join(dist, '.hidden'), '1');
    fs.writeFileSync(path.join(os.tmpdir(), 'ohif-outside.txt'), 'secret');
  });
  afterAll(() => fs.rmSync(dist, { recursive: true, force: true }));

  it('serves files inside dist', () => {
    expect(staticFile(['app.bundle.0f6159c501addfe9.js'], dist)).toBe(path.join(dist, 'app.bundle.0f6159c501addfe9.js'));
    expect(staticFile(['assets', 'favicon.ico'], dist)).toBe(path.join(dist, 'assets', 'favicon.ico'));
  });

  it('refuses traversal, hidden files, directories, and the files served otherwise', () => {
    expect(staticFile(['..', 'ohif-outside.txt'], dist)).toBeNull();
    expect(staticFile(['assets', '..', '..', 'ohif-outside.txt'], dist)).toBeNull();
    expect(staticFile(['..%2fohif-outside.txt'], dist)).toBeNull();
    expect(staticFile(['a\\..\\b'], dist)).toBeNull();
    expect(staticFile(['.hidden'], dist)).toBeNull();
    expect(staticFile(['assets'], dist)).toBeNull();
    expect(staticFile(['index.html'], dist)).toBeNull();
    expect(staticFile(['app-config.js'], dist)).toBeNull();
    // Nor their gzip copies.
    expect(staticFile(['app-config.js.gz'], dist)).toBeNull();
    expect(staticFile(['index.html.gz'], dist)).toBeNull();
    expect(staticFile([], dist)).toBeNull();
    expect(staticFile(['missing.js'], dist)).toBeNull();
  });
});

describe('precompressed copies', () => {
  it('reads Accept-Encoding: gzip, with or without a weight, not when weighted 0', () => {
    expect(acceptsGzip('gzip, deflate, br, zstd')).toBe(true);
    expect(acceptsGzip('br;q=1.0, gzip;q=0.8')).toBe(true);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('gzip; q=0.000, br')).toBe(false);
    expect(acceptsGzip('br, deflate')).toBe(false);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip(null)).toBe(false);
  });

  it('offers the .gz beside a file only to a browser that takes gzip, and only if it exists', () => {
    const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'ohif-gz-'));
    try {
      const withGz = path.join(dist, 'a.bundle.js');
      const without = path.join(dist, 'b.bundle.js');
      fs.writeFileSync(withGz, 'a');
      fs.writeFileSync(`${withGz}.gz`, 'gz');
      fs.writeFileSync(without, 'b');
      expect(gzipCopyOf(withGz, 'gzip, deflate')).toBe(`${withGz}.gz`);
      expect(gzipCopyOf(withGz, 'br')).toBeNull();
      expect(gzipCopyOf(withGz, null)).toBeNull();
      expect(gzipCopyOf(without, 'gzip')).toBeNull();
    } finally {
      fs.rmSync(dist, { recursive: true, force: true });
    }
  });

  it.runIf(fs.existsSync(path.join(ohifDistDir(), 'index.html')))('the fetched viewer has a gzip copy of its app bundle that inflates to the bundle', async () => {
    const { gunzipSync } = await import('node:zlib');
    const bundle = fs.readdirSync(ohifDistDir()).find((f) => /^app\.bundle\.[0-9a-f]+\.js$/.test(f))!;
    const file = path.join(ohifDistDir(), bundle);
    const gz = gzipCopyOf(file, 'gzip');
    expect(gz).toBe(`${file}.gz`);
    expect(gunzipSync(fs.readFileSync(gz!)).equals(fs.readFileSync(file))).toBe(true);
  });
});

describe('serveOhifStatic (the web process preload)', () => {
  let dist: string;
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    const { gzipSync } = await import('node:zlib');
    dist = fs.mkdtempSync(path.join(os.tmpdir(), 'ohif-pre-'));
    fs.writeFileSync(path.join(dist, 'app.bundle.0f6159c501addfe9.js'), 'console.log("ohif")');
    fs.writeFileSync(path.join(dist, 'app.bundle.0f6159c501addfe9.js.gz'), gzipSync('console.log("ohif")'));
    fs.writeFileSync(path.join(dist, 'plain.css'), 'body{}');
    fs.writeFileSync(path.join(dist, 'index.html'), '<html>');
    // What the preload does not answer reaches "Next" (here: a marker).
    server = http.createServer((req, res) => {
      if (serveOhifStatic(req, res, dist)) return;
      res.writeHead(299).end('next');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(dist, { recursive: true, force: true });
  });
  const get = (p: string, headers: Record<string, string> = {}, method = 'GET') =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const req = http.request(`${base}${p}`, { method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });

  it('sends the gzip copy as is to a browser that takes gzip, with its length and a year of caching', async () => {
    const r = await get('/viewer/app.bundle.0f6159c501addfe9.js', { 'Accept-Encoding': 'gzip, deflate, br' });
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
    expect(gunzipSync(r.body).toString()).toBe('console.log("ohif")');
    expect(r.headers['cache-control']).toContain('immutable');
    expect(r.headers['content-type']).toMatch(/^text\/javascript/);
    expect(r.headers.vary).toBe('Accept-Encoding');
  });

  it('sends the file itself without gzip, or when there is no copy; HEAD has no body', async () => {
    const plain = await get('/viewer/app.bundle.0f6159c501addfe9.js');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe('console.log("ohif")');
    const css = await get('/viewer/plain.css?v=1', { 'Accept-Encoding': 'gzip' });
    expect(css.headers['content-encoding']).toBeUndefined();
    expect(css.body.toString()).toBe('body{}');
    const head = await get('/viewer/plain.css', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('6');
    expect(head.body.length).toBe(0);
  });

  it('leaves everything else to the app: pages, configurations, other methods, traversal, missing files', async () => {
    for (const p of ['/viewer/index.html', '/viewer/cmabc123def456ghi789jkl0/viewer?StudyInstanceUIDs=1.2', '/viewer/cmabc123def456ghi789jkl0/app-config.js', '/viewer/..%2f..%2fetc%2fpasswd', '/viewer/%E0%A4%A', '/viewer/missing.js', '/api/v1/health', '/viewerx/plain.css']) {
      expect((await get(p)).status, p).toBe(299);
    }
    expect((await get('/viewer/plain.css', {}, 'POST')).status).toBe(299);
  });
});

describe('types and caching', () => {
  it('names content types OHIF needs (WASM must be application/wasm for streaming compilation)', () => {
    expect(contentTypeOf('x/5130ccb17e3f3f5b.wasm')).toBe('application/wasm');
    expect(contentTypeOf('a.bundle.js')).toMatch(/^text\/javascript/);
    expect(contentTypeOf('a.css')).toMatch(/^text\/css/);
    expect(contentTypeOf('a.woff2')).toBe('font/woff2');
    expect(contentTypeOf('a.unknown')).toBe('application/octet-stream');
  });
  it('caches hashed files for a year and others for an hour', () => {
    expect(cacheControlOf('/d/app.bundle.0f6159c501addfe9.js')).toContain('immutable');
    expect(cacheControlOf('/d/5130ccb17e3f3f5b.wasm')).toContain('immutable');
    expect(cacheControlOf('/d/es6-shim.min.js')).toBe('public, max-age=3600');
    expect(cacheControlOf('/d/assets/favicon.ico')).toBe('public, max-age=3600');
  });
});

describe('viewerConfig', () => {
  it('has exactly one data source, the pool root on this origin, and no credentials', () => {
    const c = viewerConfig(POOL, 'Cardiac cohort');
    expect(c.routerBasename).toBe(`/viewer/${POOL}`);
    expect(c.dataSources).toHaveLength(1);
    const ds = c.dataSources[0];
    expect(c.defaultDataSourceName).toBe(ds.sourceName);
    expect(ds.configuration.qidoRoot).toMatch(new RegExp(`/dicomweb/${POOL}$`));
    expect(ds.configuration.wadoRoot).toBe(ds.configuration.qidoRoot);
    expect(ds.configuration.friendlyName).toContain('Cardiac cohort');
    expect(c.customizationService).toEqual({ 'ohif.tours': { $set: [] } });
    expect(c.investigationalUseDialog).toEqual({ option: 'never' });
    const script = viewerConfigScript(POOL, null);
    expect(script).toMatch(/^\/\*[^]*\*\/\nwindow\.config = \{/);
    expect(script).not.toMatch(/token|bearer|authorization|trb_/i);
  });
  it('accepts only cuid-like pool segments', () => {
    expect(isPoolSegment(POOL)).toBe(true);
    expect(isPoolSegment('assets')).toBe(false);
    expect(isPoolSegment('app.bundle.0f6159c501addfe9.js')).toBe(false);
    expect(isPoolSegment('CMABC123DEF456GHI789JKL0')).toBe(false);
  });
});

describe('viewerCsp', () => {
  it('allows WASM and blob workers but no eval, no inline script without its hash, nothing off-site', () => {
    const csp = viewerCsp(["'sha256-abc'"]);
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval' 'sha256-abc'");
    expect(csp).not.toContain("'unsafe-eval'");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(csp).toContain("worker-src 'self' blob:");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/https?:/);
  });
});
