#!/usr/bin/env node
/**
 * Runs before `npm run demo` and `npm test` (plain Node, no dependencies): on a fresh clone, or
 * when package-lock.json names versions node_modules does not hold, it runs `npm ci` first, so
 * each of those is one command. It compares the lockfile with npm's own record of what is
 * installed (node_modules/.package-lock.json); an up-to-date tree costs a few milliseconds.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** Why node_modules does not match the lockfile, or null when it does. */
export function staleReason() {
  const wanted = readJson(path.join(root, 'package-lock.json'));
  if (!wanted) return null; // nothing to compare with: leave the tree alone
  const installed = readJson(path.join(root, 'node_modules', '.package-lock.json'));
  if (!installed) return 'node_modules is missing';
  for (const [key, pkg] of Object.entries(wanted.packages ?? {})) {
    if (!key.startsWith('node_modules/')) continue;
    const have = installed.packages?.[key];
    // Optional packages for other platforms are legitimately absent.
    if (!have) {
      if (pkg.optional) continue;
      return `${key.slice('node_modules/'.length)} is not installed`;
    }
    if (have.version !== pkg.version) return `${key.slice('node_modules/'.length)} is ${have.version}, the lockfile wants ${pkg.version}`;
  }
  return null;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const reason = staleReason();
  if (reason) {
    process.stdout.write(`[tributary] ${reason}: running npm ci…\n`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      process.stderr.write('[tributary] npm ci failed; see above.\n');
      process.exit(r.status ?? 1);
    }
  }
  // The OHIF viewer's prebuilt files (not an npm dependency: scripts/fetch-ohif.mjs says why).
  const { fetchOhif } = await import('./fetch-ohif.mjs');
  try {
    fetchOhif();
  } catch (e) {
    process.stderr.write(`[tributary] could not fetch the OHIF viewer: ${e instanceof Error ? e.message : e}\n`);
    process.exit(1);
  }
}
