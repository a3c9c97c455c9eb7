/**
 * The receiver under test, in its own process (bench/receive/run.ts forks it): lib/dicom/scp with
 * either trivial hooks (files into a staging dir, nothing recorded) or the worker's production
 * hooks (lib/receive/scp-hooks.ts: called AE -> pool, calling device check, StagedInstance rows).
 * A process of its own so its memory (peak RSS) and CPU profile (--cpu-prof) are the SCP's alone.
 *
 * argv: <trivial|trivial-async|real> <stagingDir>. Talks to the parent over IPC:
 *   -> { port }                    once listening
 *   <- { cmd: 'peak' }             -> { rss, peak, hwm }: current RSS, peak RSS since the last
 *                                     'peak' (sampled every 20 ms), VmHWM of the process (bytes)
 *   <- { cmd: 'stop' }             closes the SCP and exits
 */
import fs from 'node:fs';
import { StagingStream, startScp, type ScpHooks } from '../../lib/dicom/scp';

const [mode, staging] = process.argv.slice(2);
// 'trivial-async': the SCP writing through the libuv thread pool (StagingStream.writeMode 'async';
// the default writes on the event loop), to compare.
if (mode === 'trivial-async') StagingStream.writeMode = 'async';

let peak = 0;
const sample = () => {
  peak = Math.max(peak, process.memoryUsage.rss());
};
setInterval(sample, 20).unref();

function vmHwm(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function main() {
  let hooks: ScpHooks;
  if (mode === 'real') {
    hooks = (await import('../../lib/receive/scp-hooks')).scpHooks;
  } else {
    hooks = {
      resolveCalledAe: async (ae) => (ae === 'TRIB_RX' || ae === 'TRIB_ASYNC' ? { id: 'bench', stagingDir: staging } : null),
      isCallingAeAllowed: async () => true,
      onStored: async () => undefined,
    };
  }
  const scp = await startScp({ port: 0, host: '127.0.0.1', pduTimeoutMs: 10 * 60_000, hooks });
  process.send?.({ port: scp.port });
  // The bench gone (killed, crashed): go too.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'peak') {
      sample();
      process.send?.({ rss: process.memoryUsage.rss(), peak, hwm: vmHwm() });
      peak = 0;
    } else if (m.cmd === 'stop') {
      void scp.close().then(async () => {
        if (mode === 'real') await (await import('../../lib/db')).db.$disconnect();
        process.exit(0);
      });
    }
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
