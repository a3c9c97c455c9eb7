/** The rules summary's quarantine part: what a rule set holds, what it ignores and adds (burned-in.ts). */
import { quarantineSummary } from '@/lib/anonymize/burned-in';
import type { RuleSet } from '@/lib/anonymize/rules-schema';

export function QuarantineSummaryView({ rules }: { rules: RuleSet }) {
  const s = quarantineSummary(rules);
  if (!s.on) {
    return <p className="mb-2 text-sm text-amber-800">Quarantine is off: every instance enters the pool, whatever its pixels show.</p>;
  }
  return (
    <div className="mb-2 text-sm" aria-label="Quarantine summary">
      <p>
        <span className="font-medium">Quarantine holds</span>{' '}
        {s.held.map((r) => <span key={r.code} className="badge mr-1 bg-amber-50 font-mono text-amber-900" title={r.text}>{r.code}</span>)}
      </p>
      {s.ignored.length > 0 && (
        <p className="text-amber-800">
          Not held in this pool: {s.ignored.map((r) => r.code).join(', ')}.
        </p>
      )}
      {s.added.length > 0 && <p>Also (reason pool-rule; ocr-scan for “OCR first”): {s.added.join(', ')}.</p>}
    </div>
  );
}
