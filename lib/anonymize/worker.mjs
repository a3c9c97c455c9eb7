// Worker-thread entry for the de-identification pool (pool.ts). Plain JavaScript so Node can start
// it without a build step; it registers tsx (a runtime dependency, as bin/tributary.mjs does) and
// then loads the TypeScript job runner. Works whether the parent runs under tsx, vitest or plain
// Node, because the registration happens inside this thread.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { runDeidJob, serializeError } = await import('./worker-job.ts');

// The rule sets this thread holds, by the pool's number (sent once: pool.ts). Oldest dropped first.
const RULES_KEPT = 256;
const rules = new Map();

parentPort.on('message', async (msg) => {
  try {
    if (msg.rulesId !== undefined) {
      if (msg.job.rules) {
        rules.delete(msg.rulesId);
        rules.set(msg.rulesId, msg.job.rules);
        if (rules.size > RULES_KEPT) rules.delete(rules.keys().next().value);
      } else msg.job.rules = rules.get(msg.rulesId);
      if (!msg.job.rules) throw new Error('rules not sent to this worker');
    }
    const result = await runDeidJob(msg.job);
    parentPort.postMessage({ id: msg.id, ok: true, result });
  } catch (err) {
    parentPort.postMessage({ id: msg.id, ok: false, error: serializeError(err) });
  }
});
parentPort.postMessage({ ready: true });
