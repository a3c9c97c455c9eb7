/** Validates XML against the Weasis schema shipped with the tests (xmllint; nothing is fetched). */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export const WEASIS_XSD = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'weasis', 'manifest.xsd');

export function validateManifest(xml: string): { ok: boolean; output: string } {
  const r = spawnSync('xmllint', ['--nonet', '--noout', '--schema', WEASIS_XSD, '-'], { input: xml, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
