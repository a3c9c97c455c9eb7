import Link from 'next/link';
import { NOT_FOUND_TITLE } from '@/lib/auth/page';

export const metadata = { title: NOT_FOUND_TITLE };

/**
 * Rendered inside the root layout for every notFound(): an address that does not exist, and a
 * pool (or its study, query…) the visitor may not open — lib/auth/page.ts turns both "not a
 * member" and "your role does not allow this" into notFound(). So the text is the same for all
 * of them and says nothing about whether the thing exists.
 */
export default function NotFound() {
  return (
    <div className="mx-auto mt-10 max-w-xl">
      <div className="card px-6 py-8">
        <p className="text-sm font-semibold uppercase tracking-wide text-sky-800">404</p>
        <h1 className="mt-1">Page not found</h1>
        <p className="mt-2 text-slate-700">
          There is nothing at this address that you can open. It may never have existed, or it is in a pool you are not a member of, or your role
          there does not include this page.
        </p>
        <p className="mt-2 text-slate-700">If you expected to see it, ask the pool&apos;s owner or an administrator to add you.</p>
        <p className="mt-5">
          <Link href="/pools" className="btn btn-primary hover:no-underline">
            Back to your pools
          </Link>
        </p>
      </div>
    </div>
  );
}
