/**
 * CPU time of every party in a benchmark run, read from /proc (Linux): the processes we started
 * (Orthanc, storescp), the short-lived children we waited for (movescu, findscu: the kernel adds
 * their time to ours once reaped), this process, and the PostgreSQL backends serving the
 * scratch database. Summed over the parties of a run and divided by the cores, it is the
 * shortest wall time that run could take on this machine if nothing waited: the bound the
 * benches print beside their ratios ("CPU floor").
 *
 * Not counted: PostgreSQL's shared background processes (WAL writer, checkpointer) and Redis,
 * which other work on the machine shares; the kernel's writeback threads.
 */
import fs from 'node:fs';
import os from 'node:os';

/** USER_HZ: /proc reports times in these ticks; 100 on every Linux we run on. */
const TICKS = 100;

/** User and system CPU of a process (all its threads), in seconds; 0 when it is gone. */
export function processCpuSplit(pid: number | undefined): { user: number; system: number } {
  if (!pid) return { user: 0, system: 0 };
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]) / TICKS, system: Number(f[12]) / TICKS }; // fields 14 and 15
  } catch {
    return { user: 0, system: 0 };
  }
}

/** utime + stime of a process (all its threads), in seconds; 0 when it is gone or unreadable. */
export function processCpu(pid: number | undefined): number {
  const { user, system } = processCpuSplit(pid);
  return user + system;
}

/** CPU of this process's reaped children (cutime + cstime), in seconds. */
export function reapedChildrenCpu(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / TICKS; // fields 16 and 17
}

/** This process (main thread, worker threads, libuv's pool), in seconds. */
export function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export type CpuSource = { name: string; read: () => number | Promise<number> };

/** A source summing the CPU of a changing set of processes (e.g. PostgreSQL backends): the
 *  difference is taken per pid, so a backend that started during the run counts from zero. */
export function pidSetSource(name: string, pids: () => Promise<number[]>): CpuSource & { snapshot(): Promise<Map<number, number>> } {
  const snapshot = async () => new Map((await pids()).map((p) => [p, processCpu(p)] as const));
  return { name, read: async () => [...(await snapshot()).values()].reduce((a, b) => a + b, 0), snapshot };
}

export interface CpuReport {
  /** seconds of CPU per party */
  parts: Record<string, number>;
  total: number;
  /** total / cores: the shortest wall time the run's CPU work allows on this machine */
  floor: number;
}

/** Takes a snapshot of every source; `stop()` returns what each used since. */
export async function startCpuMeter(sources: CpuSource[]) {
  const before = await Promise.all(sources.map(async (s) => ('snapshot' in s ? await (s as ReturnType<typeof pidSetSource>).snapshot() : await s.read())));
  return {
    async stop(): Promise<CpuReport> {
      const parts: Record<string, number> = {};
      for (let i = 0; i < sources.length; i++) {
        const s = sources[i];
        const b = before[i];
        if (b instanceof Map) {
          const now = await (s as ReturnType<typeof pidSetSource>).snapshot();
          parts[s.name] = [...now].reduce((sum, [pid, cpu]) => sum + Math.max(0, cpu - (b.get(pid) ?? 0)), 0);
        } else {
          parts[s.name] = Math.max(0, (await s.read()) - b);
        }
      }
      const total = Object.values(parts).reduce((a, b) => a + b, 0);
      return { parts, total, floor: total / os.cpus().length };
    },
  };
}

export function formatCpu(r: CpuReport): string {
  const parts = Object.entries(r.parts).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(' + ');
  return `CPU ${parts} = ${r.total.toFixed(2)} s, floor on ${os.cpus().length} cores ${r.floor.toFixed(2)} s`;
}
