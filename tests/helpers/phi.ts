/**
 * The corpus's PHI strings and a whole-token scan for them: the PHI-scan test and the chaos test
 * look for the same strings the same way.
 */
import type { Corpus } from '@/lib/synthetic';

/** Every PHI string of the corpus, in the forms they are written and shown. */
export function phiStrings(c: Corpus): string[] {
  const out = new Set<string>(c.phiStrings);
  for (const p of c.patients) {
    out.add(p.patientId);
    out.add(p.patientName);
    const [family, given] = p.patientName.split('^');
    if (given) {
      out.add(`${given} ${family}`);
      out.add(`${family}, ${given}`);
    }
    out.add(p.birthDate);
    out.add(`${p.birthDate.slice(0, 4)}-${p.birthDate.slice(4, 6)}-${p.birthDate.slice(6, 8)}`);
    for (const s of p.studies) {
      out.add(s.accessionNumber);
      out.add(s.studyInstanceUid);
    }
  }
  for (const i of c.instances) {
    out.add(i.studyInstanceUid);
    out.add(i.seriesInstanceUid);
    out.add(i.sopInstanceUid);
  }
  return [...out].filter((s) => s.length >= 4);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A PHI value as a whole token: an MRN of digits does not match inside a longer number (a timestamp). */
function matcher(value: string): RegExp {
  const start = /^[A-Za-z0-9]/.test(value) ? '(?<![A-Za-z0-9.])' : '';
  const end = /[A-Za-z0-9]$/.test(value) ? '(?![A-Za-z0-9])' : '';
  return new RegExp(start + escapeRe(value) + end, 'i');
}

/** One line per hit: where, which PHI string, and the start of the text it was found in. */
export function scanForPhi(where: string, texts: string[], phi: string[]): string[] {
  const hits: string[] = [];
  const res = phi.map((p) => [p, matcher(p)] as const);
  for (const t of texts) for (const [p, re] of res) if (re.test(t)) hits.push(`${where}: "${p}" in ${t.slice(0, 400)}`);
  return hits;
}
