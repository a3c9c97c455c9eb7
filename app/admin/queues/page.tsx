import { pageAdmin } from '@/lib/auth/page';
import { QUEUES, type QueueName } from '@/lib/jobs/catalogue';
import { listFailedJobs, type FailedJobSummary } from '@/lib/jobs/admin';
import { queueCounts } from '@/lib/jobs/status';
import { EmptyState, PageHeader } from '@/components/ui';
import { formatDateTime } from '@/components/admin/format';
import { AutoRefresh, FailedJobActions } from '@/components/admin/queues';
import { HealthPanel } from '@/components/admin/health';
import { getHealth } from '@/lib/health/get-health';

export const metadata = { title: 'Queues' };
export const dynamic = 'force-dynamic';

const QUEUE_HELP: Record<QueueName, string> = {
  find: 'C-FIND queries to the PACS, one job per query',
  move: 'C-MOVE retrievals, one job per study, throttled per connector',
  anonymize: 'De-identification of received studies into their pool',
  maintenance: 'Staging purge and reconciliation, missed notices and notification e-mails',
  ocr: 'OCR of quarantined images (burned-in text boxes), one job per instance',
  export: 'Exports of pool studies to destinations (STOW-RS, C-STORE), one job per export',
};

const COLUMNS = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/** Redis commands queue while Redis is down (BullMQ connections never give up); the page must not hang. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms))]);
}

export default async function QueuesPage() {
  await pageAdmin();
  const names = Object.values(QUEUES);
  const health = await getHealth();
  const now = Date.now();
  let counts: Record<string, Record<string, number>>;
  let failed: Record<string, FailedJobSummary[]>;
  try {
    [counts, failed] = await withTimeout(
      Promise.all([queueCounts(), Promise.all(names.map(async (n) => [n, await listFailedJobs(n, 20)] as const)).then(Object.fromEntries)]),
      5000,
    );
  } catch {
    return (
      <>
        <PageHeader title="Queues" subtitle="Background jobs: queries, retrievals, de-identification, housekeeping." actions={<AutoRefresh initiallyOn={false} />} />
        <HealthPanel health={health} now={now} />
        <EmptyState title="The job queues cannot be read">
          Redis did not answer within 5 seconds. Check that Redis is running and that <code className="font-mono">REDIS_URL</code> points to it;
          queued work is kept in Redis and resumes when it is back.
        </EmptyState>
      </>
    );
  }
  const totalFailed = names.reduce((s, n) => s + (counts[n]?.failed ?? 0), 0);

  return (
    <>
      <PageHeader title="Queues" subtitle="Background jobs: queries, retrievals, de-identification, housekeeping." actions={<AutoRefresh />} />
      <HealthPanel health={health} now={now} />
      <div className="card mb-5 overflow-x-auto">
        <table className="table" aria-label="Queue counts">
          <thead>
            <tr>
              <th>Queue</th>
              {COLUMNS.map((c) => (
                <th key={c} className="text-right">
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {names.map((n) => {
              const c = counts[n] ?? {};
              return (
                <tr key={n}>
                  <td>
                    <span className="font-mono text-xs font-semibold">{n}</span>
                    <span className="ml-2 text-xs text-slate-500">{QUEUE_HELP[n]}</span>
                  </td>
                  {COLUMNS.map((col) => {
                    // "waiting" includes prioritized jobs, as BullMQ's own count() does.
                    const v = col === 'waiting' ? (c.waiting ?? 0) + (c.prioritized ?? 0) : (c[col] ?? 0);
                    const tone = col === 'failed' && v > 0 ? 'font-semibold text-rose-700' : col === 'active' && v > 0 ? 'font-semibold text-sky-700' : v === 0 ? 'text-slate-400' : '';
                    return (
                      <td key={col} className={`text-right tabular-nums ${tone}`}>
                        {v.toLocaleString('en')}
                      </td>
                    );
                  })}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <h2 className="mb-1">Latest failed jobs</h2>
      <p className="mb-3 text-slate-500">
        Jobs that used up their retries. <strong>Retry</strong> runs a job again from the start; <strong>Remove</strong> deletes it. To retry a failed
        study, prefer its Retry button on the query page: it also resets the study’s state for the coordinator.
      </p>
      {totalFailed === 0 ? (
        <EmptyState title="No failed jobs">Failed queries, retrievals and de-identifications appear here with their error, once they have used up their retries.</EmptyState>
      ) : (
        <div className="space-y-4">
          {names
            .filter((n) => (failed[n]?.length ?? 0) > 0)
            .map((n) => (
              <section key={n} className="card overflow-x-auto" aria-labelledby={`failed-${n}`}>
                <h3 id={`failed-${n}`} className="border-b border-slate-200 px-3 py-2 text-sm font-semibold">
                  <span className="font-mono">{n}</span>{' '}
                  <span className="font-normal text-slate-500 tabular-nums">
                    — {counts[n]?.failed ?? 0} failed{(counts[n]?.failed ?? 0) > failed[n].length ? `, latest ${failed[n].length} shown` : ''}
                  </span>
                </h3>
                <table className="table" aria-label={`Failed jobs in ${n}`}>
                  <thead>
                    <tr>
                      <th>Job</th>
                      <th>Id</th>
                      <th className="text-right">Attempts</th>
                      <th>Failed reason</th>
                      <th>Created</th>
                      <th>Failed at</th>
                      <th className="w-px"><span className="sr-only">Actions</span></th>
                    </tr>
                  </thead>
                  <tbody>
                    {failed[n].map((j) => (
                      <tr key={j.id}>
                        <td className="whitespace-nowrap font-mono text-xs">{j.name}</td>
                        <td className="max-w-48 truncate font-mono text-xs text-slate-600" title={j.id}>
                          {j.id}
                        </td>
                        <td className="text-right tabular-nums">
                          {j.attemptsMade}/{j.maxAttempts}
                        </td>
                        <td className="max-w-md text-xs text-rose-800">
                          <span className="line-clamp-2" title={j.failedReason}>
                            {j.failedReason || <span className="text-slate-400">no reason recorded</span>}
                          </span>
                        </td>
                        <td className="whitespace-nowrap tabular-nums text-slate-600">{formatDateTime(new Date(j.timestamp), true)}</td>
                        <td className="whitespace-nowrap tabular-nums text-slate-600">{j.finishedOn ? formatDateTime(new Date(j.finishedOn), true) : ''}</td>
                        <td>
                          <FailedJobActions queue={n} jobId={j.id} jobName={j.name} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </section>
            ))}
        </div>
      )}
    </>
  );
}
