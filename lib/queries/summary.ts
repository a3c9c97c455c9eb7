/**
 * What a query's rows came to, in words: "3 rows: 2 answered, 1 invalid". Browser-safe (the
 * query page renders it live). "answered" = the PACS answered with at least one study; a row the
 * PACS answered with nothing is "no match", not done.
 */
export interface RowLike {
  status: string;
  resultCount: number;
}

export function rowOutcome(r: RowLike): 'answered' | 'no match' | 'invalid' | 'failed' | 'cancelled' | 'waiting' {
  switch (r.status) {
    case 'DONE':
      return r.resultCount > 0 ? 'answered' : 'no match';
    case 'INVALID':
      return 'invalid';
    case 'FAILED':
      return 'failed';
    case 'CANCELLED':
      return 'cancelled';
    default:
      return 'waiting';
  }
}

const ORDER = ['answered', 'no match', 'invalid', 'failed', 'cancelled', 'waiting'] as const;

export function summarizeRows(rows: RowLike[]): string {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(rowOutcome(r), (counts.get(rowOutcome(r)) ?? 0) + 1);
  const parts = ORDER.filter((k) => counts.get(k)).map((k) => `${counts.get(k)} ${k}`);
  return `${rows.length} ${rows.length === 1 ? 'row' : 'rows'}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}
