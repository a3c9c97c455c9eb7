import { QUEUES } from './catalogue';
import { queue } from './queues';

export async function queueCounts() {
  const out: Record<string, Record<string, number>> = {};
  for (const name of Object.values(QUEUES)) {
    out[name] = await queue(name).getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
  }
  return out;
}
