/**
 * `tributary secrets rotate`: re-encrypts every stored secret under the current SECRETS_KEY.
 * Run it after setting SECRETS_KEY to the new key and SECRETS_KEY_PREVIOUS to the old one; when
 * it reports nothing left under the previous key, SECRETS_KEY_PREVIOUS can be removed.
 *
 * STORED_SECRETS lists every column that holds a lib/secrets value. A feature that stores a new
 * secret adds its column here (and its marker to tests/integration/secrets/secrets-scan.test.ts).
 */
import { audit } from '../audit';
import { db } from '../db';
import { reencryptSecret } from './index';

export const STORED_SECRETS: readonly { table: string; column: string }[] = [
  { table: 'CohortSource', column: 'password' },
  { table: 'Device', column: 'tlsClientKey' },
  { table: 'Connector', column: 'webSecret' },
  { table: 'SigningKey', column: 'privateKey' },
  { table: 'Destination', column: 'webSecret' },
  { table: 'Exporter', column: 'bearerToken' },
  { table: 'Exporter', column: 'basicAuth' },
];

export interface RotateReport {
  /** Per "Table.column": values seen, re-encrypted, and those that could not be decrypted with either key. */
  columns: Record<string, { values: number; reencrypted: number; failed: number }>;
  failed: number;
}

const ident = (s: string) => {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(s)) throw new Error(`not an identifier: ${s}`);
  return `"${s}"`;
};

export async function rotateSecrets(opts: { actorUserId?: string | null } = {}): Promise<RotateReport> {
  const report: RotateReport = { columns: {}, failed: 0 };
  for (const { table, column } of STORED_SECRETS) {
    const stats = { values: 0, reencrypted: 0, failed: 0 };
    const rows = await db.$queryRawUnsafe<{ id: string; v: string }[]>(`SELECT "id", ${ident(column)} AS v FROM ${ident(table)} WHERE ${ident(column)} IS NOT NULL`);
    for (const row of rows) {
      stats.values++;
      let next: string | null;
      try {
        next = reencryptSecret(row.v);
      } catch {
        stats.failed++;
        continue;
      }
      if (!next) continue;
      // Only if the value is still the one read: a concurrent save wins and is already current.
      const n = await db.$executeRawUnsafe(`UPDATE ${ident(table)} SET ${ident(column)} = $1 WHERE "id" = $2 AND ${ident(column)} = $3`, next, row.id, row.v);
      stats.reencrypted += n;
    }
    report.columns[`${table}.${column}`] = stats;
    report.failed += stats.failed;
  }
  const total = Object.values(report.columns).reduce((s, c) => s + c.reencrypted, 0);
  await audit({ userId: opts.actorUserId ?? null, action: 'secrets.rotate', detail: { reencrypted: total, failed: report.failed } });
  return report;
}
