import { describe, expect, it } from 'vitest';
import { rowOutcome, summarizeRows } from '@/lib/queries/summary';

describe('query row summary', () => {
  it('says how many rows were answered, matched nothing, were invalid or failed', () => {
    expect(summarizeRows([{ status: 'DONE', resultCount: 2 }, { status: 'DONE', resultCount: 1 }, { status: 'INVALID', resultCount: 0 }])).toBe('3 rows: 2 answered, 1 invalid');
    expect(summarizeRows([{ status: 'DONE', resultCount: 0 }])).toBe('1 row: 1 no match');
    expect(summarizeRows([{ status: 'FAILED', resultCount: 0 }, { status: 'RUNNING', resultCount: 0 }])).toBe('2 rows: 1 failed, 1 waiting');
    expect(summarizeRows([])).toBe('0 rows');
  });
  it('a row the PACS answered with nothing is not "answered"', () => {
    expect(rowOutcome({ status: 'DONE', resultCount: 0 })).toBe('no match');
    expect(rowOutcome({ status: 'DONE', resultCount: 3 })).toBe('answered');
  });
});
