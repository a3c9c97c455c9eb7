/** Every file below `dir` (recursively); [] when it does not exist. For "nothing left in staging" checks. */
import fs from 'node:fs/promises';
import path from 'node:path';

export async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await allFiles(p)));
    else out.push(p);
  }
  return out;
}
