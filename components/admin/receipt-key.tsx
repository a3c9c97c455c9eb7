import type { InstallationKey } from '@/lib/receipts';
import { formatDateTime } from './format';

/**
 * The installation's receipt signing key, for recipients to pin: `tributary receipt verify
 * <file> --key <pem>` only states who signed a receipt when given this key (docs/exports.md).
 */
export function ReceiptKeyPanel({ k }: { k: InstallationKey }) {
  return (
    <section className="card mb-5" aria-labelledby="receipt-key-title">
      <h2 id="receipt-key-title" className="border-b border-slate-200 px-3 py-2 text-sm font-semibold">
        Receipt signing key
      </h2>
      <div className="space-y-2 px-3 py-2 text-sm">
        <p className="text-slate-600">
          Export and purge receipts are signed with this Ed25519 key (created {formatDateTime(k.createdAt)}). Give the public key to whoever checks
          receipts, through a channel other than the receipt itself, so they can verify with <code className="font-mono">--key</code>.
        </p>
        <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1">
          <dt className="text-slate-500">Key id</dt>
          <dd className="font-mono" data-testid="receipt-key-id">{k.keyId}</dd>
          <dt className="text-slate-500">Fingerprint (SHA-256)</dt>
          <dd className="break-all font-mono text-xs" data-testid="receipt-key-fingerprint">{k.fingerprint}</dd>
          <dt className="text-slate-500">Public key (PEM)</dt>
          <dd>
            <pre className="overflow-x-auto rounded bg-slate-50 p-2 font-mono text-xs">{k.publicKeyPem}</pre>
          </dd>
        </dl>
      </div>
    </section>
  );
}
