/**
 * The warning shown wherever a pool's rules appear (settings, editor check, preview, admin pool
 * page) when they keep direct identifiers (lib/anonymize/direct-identifiers.ts).
 * No hooks: usable from server and client components.
 */
export function DirectIdentifierWarning({ keywords, what = 'These rules' }: { keywords: string[]; what?: string }) {
  if (!keywords.length) return null;
  return (
    <div role="alert" className="mb-3 rounded-md border border-rose-300 bg-rose-50 px-3 py-2 text-rose-900" data-testid="direct-identifier-warning">
      <strong>Warning: {what} keep direct identifiers</strong> ({keywords.join(', ')}). Their original values reach everyone who can see the
      pool, researchers included. Only the pool’s owner can save such rules; every other owner is notified.
    </div>
  );
}
