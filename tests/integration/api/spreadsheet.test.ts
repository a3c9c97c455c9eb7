/** Spreadsheet upload through the API: dry run, run, bad files refused with nothing started. */
import ExcelJS from 'exceljs';
import { beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { call } from '../../helpers/api';
import { makeConnector, makePool, makeUser } from '../../helpers/fixtures';

let token: string;
let poolId: string;
let connectorId: string;

beforeAll(async () => {
  const coord = await makeUser('COORDINATOR');
  poolId = (await makePool({ members: [{ userId: coord.id, role: 'COORDINATOR' }] })).id;
  connectorId = (await makeConnector({ pacsAe: 'NOWHERE', port: 9 })).connector.id;
  token = (await createApiToken({ userId: coord.id, name: 't' })).token;
});

function form(file: File, dryRun: boolean) {
  const f = new FormData();
  f.set('poolId', poolId);
  f.set('connectorId', connectorId);
  f.set('dryRun', String(dryRun));
  f.set('file', file);
  return f;
}

async function sheet(rows: (string | number | null)[][]) {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Query');
  ws.getColumn(1).numFmt = '@';
  ws.addRow(['PatientID', 'Modality']);
  for (const r of rows) ws.addRow(r);
  return new File([new Uint8Array(await wb.xlsx.writeBuffer())], 'cohort.xlsx');
}

type Verdict = { verdict: { validRows: number; invalid: { rowNumber: number; errors: string[] }[]; duplicatesMerged: number }; queryId?: string };

describe('spreadsheet upload API', () => {
  it('checks a sheet without starting anything, then runs the valid rows and records the bad ones', async () => {
    const file = await sheet([['0012345', 'CT'], ['0012345', 'CT'], ['00777', null], ['12*', null], ['0099', 'XRAY']]);
    const before = await db.query.count({ where: { poolId } });
    const dry = await call(api.uploadQuerySpreadsheet, {}, { token, form: form(file, true) });
    expect(dry.status).toBe(200);
    const v = dry.json as Verdict;
    expect(v.queryId).toBeUndefined();
    expect(v.verdict.validRows).toBe(2);
    expect(v.verdict.duplicatesMerged).toBe(1);
    expect(v.verdict.invalid.map((i) => i.rowNumber)).toEqual([5, 6]);
    expect(await db.query.count({ where: { poolId } })).toBe(before);

    const run = await call(api.uploadQuerySpreadsheet, {}, { token, form: form(file, false) });
    expect(run.status).toBe(201);
    const { queryId } = run.json as Verdict;
    const items = await db.queryItem.findMany({ where: { queryId }, orderBy: { rowNumber: 'asc' } });
    expect(items.map((i) => [i.rowNumber, i.patientId, i.status])).toEqual([
      [2, '0012345', 'PENDING'],
      [4, '00777', 'PENDING'],
      [5, '12*', 'INVALID'],
      [6, '0099', 'INVALID'],
    ]);
    expect(items[0].mergedRowNumbers).toEqual([3]);
    expect(items[2].error).toMatch(/wildcard/i);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { action: 'query.submit', targetId: queryId } });
    expect(JSON.stringify(audit)).not.toContain('0012345');
  });

  it('refuses a file that is not a spreadsheet, and starts nothing', async () => {
    const before = await db.query.count({ where: { poolId } });
    const bad = await call(api.uploadQuerySpreadsheet, {}, { token, form: form(new File([Buffer.from('%PDF-1.4 not a sheet')], 'rows.xlsx'), false) });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    expect((bad.json as { error: { message: string } }).error.message).toMatch(/not an Excel workbook/i);
    expect(await db.query.count({ where: { poolId } })).toBe(before);
  });

  it('refuses a sheet without a PatientID column, and an oversized upload', async () => {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('Query').addRow(['Name', 'Modality']);
    const noId = new File([new Uint8Array(await wb.xlsx.writeBuffer())], 'x.xlsx');
    const r = await call(api.uploadQuerySpreadsheet, {}, { token, form: form(noId, true) });
    expect(r.status).toBe(422);
    expect((r.json as { error: { message: string } }).error.message).toMatch(/PatientID/);
    const big = await call(api.uploadQuerySpreadsheet, {}, { token, form: form(new File([Buffer.alloc(6 * 1024 * 1024, 65)], 'big.csv'), true) });
    expect(big.status).toBe(413);
  });

  it('serves the template', async () => {
    const t = await call(api.queryTemplate, {}, { token });
    expect(t.status).toBe(200);
    expect(t.headers.get('content-type')).toMatch(/spreadsheetml/);
    expect(t.text.slice(0, 2)).toBe('PK');
  });
});
