#!/usr/bin/env node
/**
 * Puts the prebuilt OHIF viewer (the `dist/` folder of the npm package @ohif/app, pinned below)
 * where app/viewer serves it from: node_modules/.ohif/<version>/dist. Plain Node, no
 * dependencies; runs from `npm test`/`npm run demo` (scripts/ensure-deps.mjs), `npm run build`
 * and the Dockerfile. Cheap when already done (one stat).
 *
 * Why not `npm install @ohif/app`: the package declares ~40 runtime dependencies (React 18,
 * webpack loaders, @ohif/core, …) that its prebuilt dist/ does not need, and one of them
 * (@ohif/i18n at the same version) is not published, so the install fails. The tarball is
 * fetched with npm's own client (`npm pack`, which uses npm's cache and registry settings) and
 * checked against the pinned integrity before anything is extracted.
 *
 * Two changes to the files, both because the viewer is served under /viewer/ instead of /:
 * webpack's public path is compiled into the bundles as "/" (chunks, workers and WASM would be
 * requested from the site root), so `__webpack_require__.p = "/"` becomes "/viewer/"; index.html is
 * rewritten per request by lib/viewers/ohif-serve.ts. Left out: source maps and `ort/` (the ONNX
 * runtime, 136 MB, only for OHIF's optional AI segmentation tools, which Tributary does not enable).
 *
 * Every compressible file also gets a gzip copy beside it (`<file>.gz`, level 9, made once here):
 * app/viewer serves it to browsers that accept gzip, so the web process never compresses OHIF's
 * 17 MB app bundle per request (Next's on-the-fly gzip of it cost ~0.4 s of CPU on the path to
 * the first image; docs/dicomweb.md).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { constants as zc, gzipSync } from 'node:zlib';

export const OHIF_VERSION = '3.13.2';
const INTEGRITY = 'sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA==';
export const VIEWER_BASE = '/viewer/';

const root = path.resolve(import.meta.dirname, '..');
export const ohifDir = path.join(root, 'node_modules', '.ohif', OHIF_VERSION);
const marker = path.join(ohifDir, 'READY');
/** What READY says once the files are in place and precompressed (older installs: no "gzip"). */
const READY_TEXT = `${OHIF_VERSION} gzip\n`;
const COMPRESSIBLE = /\.(js|mjs|css|wasm|json|svg|txt|xml|data|ttf|ico)$/;

/** Writes `<file>.gz` for every compressible file of dist over 1 KB that has none yet. */
export function precompress(dist) {
  let n = 0;
  for (const f of walk(dist)) {
    if (!COMPRESSIBLE.test(f) || existsSync(`${f}.gz`)) continue;
    const data = readFileSync(f);
    if (data.length < 1024) continue;
    writeFileSync(`${f}.gz.tmp`, gzipSync(data, { level: zc.Z_BEST_COMPRESSION }));
    renameSync(`${f}.gz.tmp`, `${f}.gz`);
    n++;
  }
  return n;
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr || r.stdout}`);
  return r.stdout;
}

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

export function fetchOhif({ quiet = false } = {}) {
  const say = (m) => quiet || process.stdout.write(`[tributary] ${m}\n`);
  if (existsSync(marker)) {
    if (readFileSync(marker, 'utf8') === READY_TEXT) return ohifDir;
    // Fetched by an earlier version of this script: add the gzip copies.
    const n = precompress(path.join(ohifDir, 'dist'));
    writeFileSync(marker, READY_TEXT);
    say(`OHIF viewer: ${n} files precompressed`);
    return ohifDir;
  }
  say(`fetching the OHIF viewer (@ohif/app@${OHIF_VERSION}, ~50 MB)…`);
  // Beside the target, so the final rename stays on one file system.
  mkdirSync(path.dirname(ohifDir), { recursive: true });
  const tmp = mkdtempSync(path.join(path.dirname(ohifDir), 'tmp-'));
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const out = JSON.parse(run(npm, ['pack', `@ohif/app@${OHIF_VERSION}`, '--json', '--silent'], tmp));
    const file = path.join(tmp, out[0].filename);
    const digest = `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
    if (digest !== INTEGRITY) throw new Error(`@ohif/app@${OHIF_VERSION}: integrity mismatch (got ${digest})`);
    run('tar', ['-xzf', file, '-C', tmp, '--exclude=package/dist/ort', '--exclude=*.map', 'package/dist'], tmp);
    const dist = path.join(tmp, 'package', 'dist');
    let patched = 0;
    for (const f of walk(dist)) {
      if (!f.endsWith('.js')) continue;
      const text = readFileSync(f, 'utf8');
      if (!text.includes('__webpack_require__.p = "/";')) continue;
      writeFileSync(f, text.replaceAll('__webpack_require__.p = "/";', `__webpack_require__.p = ${JSON.stringify(VIEWER_BASE)};`));
      patched++;
    }
    if (patched === 0) throw new Error('no webpack public path found to rewrite: has the OHIF build changed?');
    if (!statSync(path.join(dist, 'index.html')).isFile()) throw new Error('dist/index.html is missing');
    const compressed = precompress(dist);
    rmSync(ohifDir, { recursive: true, force: true });
    mkdirSync(ohifDir, { recursive: true });
    renameSync(dist, path.join(ohifDir, 'dist'));
    writeFileSync(marker, READY_TEXT);
    say(`OHIF viewer ready (${patched} bundles point at ${VIEWER_BASE}, ${compressed} files precompressed)`);
    return ohifDir;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    fetchOhif();
  } catch (e) {
    process.stderr.write(`[tributary] could not fetch the OHIF viewer: ${e instanceof Error ? e.message : e}\n`);
    process.exit(1);
  }
}
