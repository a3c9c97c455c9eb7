import { Suspense } from 'react';
import { redirect } from 'next/navigation';
import { actorFromSession } from '@/lib/auth/actor';
import { SignInForm } from './sign-in-form';

export const metadata = { title: 'Sign in' };

export default async function SignInPage() {
  if (await actorFromSession()) redirect('/pools');
  return (
    <div className="mx-auto mt-16 max-w-sm">
      <div className="card p-6">
        <h1 className="mb-1">Sign in to Tributary</h1>
        <p className="mb-5 text-slate-500">Research imaging broker</p>
        <Suspense>
          <SignInForm />
        </Suspense>
      </div>
    </div>
  );
}
