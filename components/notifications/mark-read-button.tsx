'use client';
/** Marks notifications read (POST /api/v1/notifications/read) and refreshes the page. */
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { FormAlert } from '@/components/admin/kit';

export function MarkReadButton({ ids, label }: { ids?: string[]; label: string }) {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <button
        type="button"
        className="btn"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          const res = await apiFetch('/notifications/read', { body: ids ? { ids } : {} });
          setBusy(false);
          if (!res.ok) return setError(res.error.message);
          router.refresh();
        }}
      >
        {label}
      </button>
      <FormAlert message={error} />
    </>
  );
}
