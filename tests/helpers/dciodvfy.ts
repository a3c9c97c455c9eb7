/**
 * dciodvfy (David Clunie's dicom3tools, Debian package `dicom3tools`): the IOD it validated against
 * and its error lines (values it quotes blanked, so a changed value does not count as a new error).
 */
import { spawnSync } from 'node:child_process';

export function dciodvfy(file: string): { iod: string; errors: Set<string> } {
  const r = spawnSync('dciodvfy', [file], { encoding: 'latin1' });
  if (r.error) throw new Error(`dciodvfy could not run (install the Debian package dicom3tools): ${r.error.message}`);
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim());
  const iod = lines.find((l) => /^[A-Za-z0-9]+$/.test(l)) ?? '';
  const errors = new Set(lines.filter((l) => l.startsWith('Error')).map((l) => l.replace(/\[\d+\] = <[^>]*>/g, '[n] = <>')));
  return { iod, errors };
}

/** Errors the output has that the input did not. */
export function newErrors(before: { errors: Set<string> }, after: { errors: Set<string> }): string[] {
  return [...after.errors].filter((e) => !before.errors.has(e));
}
