/**
 * Summarises a V8 CPU profile (.cpuprofile, from `bench/retrieve/run.ts --profile` or
 * `node --cpu-prof`): the main thread's self time by category (idle, garbage collection, Prisma
 * client, the DICOM stack, BullMQ/ioredis, our own lib/ and workers/ code, Node internals), the
 * top functions by self time, and the total time under each of a few of our entry points.
 *
 *   npx tsx bench/retrieve/profile-summary.ts bench/retrieve/profiles/<file>.cpuprofile [--top 30]
 */
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [--top N]');
const topN = Number(process.argv[process.argv.indexOf('--top') + 1]) || 30;
const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;

const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
const total = (p.endTime - p.startTime) / 1000;

function category(n: Node): string {
  const { functionName: f, url } = n.callFrame;
  if (f === '(idle)') return 'idle';
  if (f === '(garbage collector)') return 'gc';
  if (f === '(program)') return 'program (native, unattributed)';
  if (/generated\/|@prisma|prisma/i.test(url)) return 'prisma client';
  if (/dcmjs-dimse|lib\/dicom\//.test(url)) return 'DICOM (SCP/SCU)';
  if (/bullmq|ioredis|lib\/jobs\//.test(url)) return 'bullmq/ioredis/jobs';
  if (/pino|lib\/logger/.test(url)) return 'logging';
  if (/node_modules/.test(url)) return `other package (${/node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1]})`;
  if (/\/lib\/|\/workers\//.test(url)) return 'our code (lib/, workers/)';
  if (/^node:|^internal|^$/.test(url)) return 'node internals';
  return 'other';
}

const cats = new Map<string, number>();
const fns = new Map<string, number>();
for (const [id, ms] of self) {
  const n = byId.get(id)!;
  const c = category(n);
  cats.set(c, (cats.get(c) ?? 0) + ms);
  const k = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(node_modules|lib|workers|bench)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
  fns.set(k, (fns.get(k) ?? 0) + ms);
}
const pct = (ms: number) => `${((100 * ms) / total).toFixed(1).padStart(5)} %`;
console.log(`${file}\nwall ${(total / 1000).toFixed(2)} s, ${p.samples.length} samples\n\nself time by category:`);
for (const [c, ms] of [...cats].sort((a, b) => b[1] - a[1])) console.log(`  ${(ms / 1000).toFixed(3).padStart(7)} s ${pct(ms)}  ${c}`);

// Inclusive time under our own functions (lib/, workers/): the first such frame on each sample's stack.
const incl = new Map<string, number>();
for (const [id, ms] of self) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur)!;
    if (!/\/(lib|workers)\//.test(n.callFrame.url) || /node_modules/.test(n.callFrame.url)) continue;
    const k = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(lib|workers)\//, '$1/')}`;
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + ms);
  }
}
console.log(`\ntop ${topN} functions by self time:`);
for (const [k, ms] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, topN)) console.log(`  ${(ms / 1000).toFixed(3).padStart(7)} s ${pct(ms)}  ${k}`);
console.log(`\ntop ${topN} of our functions by inclusive time (their callees included):`);
for (const [k, ms] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, topN)) console.log(`  ${(ms / 1000).toFixed(3).padStart(7)} s ${pct(ms)}  ${k}`);

// Native frames (writev, lstat, fsync...) attributed to the nearest caller outside Node's own code.
const native = new Map<string, number>();
for (const [id, ms] of self) {
  const n = byId.get(id)!;
  if (n.callFrame.url || /^\(/.test(n.callFrame.functionName)) continue;
  let caller = '(no JS caller)';
  for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
    const u = byId.get(cur)!.callFrame;
    if (u.url && !/^node:|^internal/.test(u.url)) {
      caller = `${u.functionName || '(anonymous)'} ${u.url.replace(/^.*\/(node_modules|lib|workers|bench)\//, '$1/')}:${u.lineNumber + 1}`;
      break;
    }
  }
  const k = `${n.callFrame.functionName} <- ${caller}`;
  native.set(k, (native.get(k) ?? 0) + ms);
}
console.log(`\ntop ${topN} native frames by self time, with their nearest caller outside Node:`);
for (const [k, ms] of [...native].sort((a, b) => b[1] - a[1]).slice(0, topN)) console.log(`  ${(ms / 1000).toFixed(3).padStart(7)} s ${pct(ms)}  ${k}`);
