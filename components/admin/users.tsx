'use client';
/**
 * Users: create, change role, deactivate/reactivate, reset password.
 * The server validates with lib/users/schema.ts; its field errors come back next to the inputs.
 */
import { useConfirm } from '@/components/confirm-dialog';
import { useRouter } from 'next/navigation';
import { PASSWORD_MIN_LENGTH } from '@/lib/users/schema';
import { Fragment, useMemo, useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { escapeCancels, FormAlert, OtherFieldErrors, str, useApiAction, useFieldBinder } from './kit';

export type Role = 'ADMIN' | 'COORDINATOR' | 'RESEARCHER';

export interface UserRow {
  id: string;
  name: string;
  email: string;
  role: Role;
  active: boolean;
  created: string;
  pools: number;
}

const ROLE_LABEL: Record<Role, string> = { ADMIN: 'Administrator', COORDINATOR: 'Coordinator', RESEARCHER: 'Researcher' };
const ROLE_HELP =
  'Administrators manage devices, pools, connectors and users and see every pool. Coordinators and researchers see only the pools they are members of; what they may do there is set by their pool role.';

const MIN_PASSWORD = PASSWORD_MIN_LENGTH;

function CreateUserForm({ onDone, onCancel }: { onDone: () => void; onCancel?: () => void }) {
  const a = useApiAction();
  const f = useFieldBinder(a.fields);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const body = { email: str(fd.get('email')), name: str(fd.get('name')), role: str(fd.get('role')), password: str(fd.get('password')) };
    const res = await a.run(() => apiFetch('/users', { method: 'POST', body }));
    if (res !== undefined) onDone();
  }

  return (
    <form onSubmit={onSubmit} onKeyDown={escapeCancels(onCancel)} noValidate aria-label="Create user" className="space-y-3">
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-12">
        <div className="sm:col-span-4">
          <label className="label" htmlFor={f.id('email')}>E-mail *</label>
          <input {...f.input('email')} type="email" autoFocus autoComplete="off" placeholder="j.doe@hospital.org" />
          {f.error('email')}
        </div>
        <div className="sm:col-span-3">
          <label className="label" htmlFor={f.id('name')}>Name *</label>
          <input {...f.input('name')} autoComplete="off" placeholder="Jane Doe" />
          {f.error('name')}
        </div>
        <div className="sm:col-span-2">
          <label className="label" htmlFor={f.id('role')}>Role</label>
          <select {...f.input('role')} defaultValue="RESEARCHER">
            <option value="RESEARCHER">Researcher</option>
            <option value="COORDINATOR">Coordinator</option>
            <option value="ADMIN">Administrator</option>
          </select>
          {f.error('role')}
        </div>
        <div className="sm:col-span-3">
          <label className="label" htmlFor={f.id('password')}>Initial password * <span className="font-normal text-slate-400">(≥ {MIN_PASSWORD})</span></label>
          <input {...f.input('password')} type="password" autoComplete="new-password" />
          {f.error('password')}
        </div>
      </div>
      <p className="text-xs text-slate-500">{ROLE_HELP} Add the user to pools on each pool’s page.</p>
      <OtherFieldErrors fields={a.fields} known={['email', 'name', 'role', 'password']} />
      <FormAlert message={a.error} />
      <div className="flex items-center gap-2">
        <button type="submit" className="btn btn-primary" disabled={a.busy}>
          {a.busy ? 'Creating…' : 'Create user'}
        </button>
        {onCancel && (
          <button type="button" className="btn" onClick={onCancel} disabled={a.busy}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

function ResetPasswordForm({ user, onDone, onCancel }: { user: UserRow; onDone: () => void; onCancel: () => void }) {
  const a = useApiAction();
  const f = useFieldBinder(a.fields);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const password = str(new FormData(e.currentTarget).get('password'));
    if (password.length < MIN_PASSWORD) return a.invalid({ password: [`Password must be at least ${MIN_PASSWORD} characters`] });
    const res = await a.run(() => apiFetch(`/users/${user.id}`, { method: 'PATCH', body: { password } }));
    if (res !== undefined) onDone();
  }

  return (
    <form onSubmit={onSubmit} onKeyDown={escapeCancels(onCancel)} noValidate aria-label={`Reset password of ${user.name}`} className="flex flex-wrap items-start gap-2">
      <div className="w-72">
        <label className="label" htmlFor={f.id('password')}>New password for {user.name}</label>
        <input {...f.input('password')} type="password" autoComplete="new-password" autoFocus />
        {f.error('password')}
      </div>
      <div className="flex gap-2 pt-5">
        <button type="submit" className="btn btn-primary btn-sm" disabled={a.busy}>
          {a.busy ? 'Saving…' : 'Set password'}
        </button>
        <button type="button" className="btn btn-sm" onClick={onCancel} disabled={a.busy}>
          Cancel
        </button>
      </div>
      <div className="basis-full">
        <FormAlert message={a.error} />
      </div>
    </form>
  );
}

export function UsersManager({ users, meId }: { users: UserRow[]; meId: string }) {
  const router = useRouter();
  const [adding, setAdding] = useState(false);
  const [filter, setFilter] = useState('');
  const [resetting, setResetting] = useState<string | null>(null);
  const [pending, setPending] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ id: string; ok: boolean; message: string } | null>(null);

  const shown = useMemo(() => {
    const q = filter.trim().toLowerCase();
    return q ? users.filter((u) => u.name.toLowerCase().includes(q) || u.email.includes(q) || u.role.toLowerCase().includes(q)) : users;
  }, [users, filter]);

  async function patch(u: UserRow, body: { role?: Role; active?: boolean }, key: string, done: string) {
    setPending(key);
    setNotice(null);
    const res = await apiFetch(`/users/${u.id}`, { method: 'PATCH', body });
    setPending(null);
    if (!res.ok) return setNotice({ id: u.id, ok: false, message: res.error.message });
    setNotice({ id: u.id, ok: true, message: done });
    router.refresh();
  }

  const [confirm, confirmDialog] = useConfirm();

  async function changeRole(u: UserRow, role: Role) {
    if (role === u.role) return;
    const ok = await confirm({
      title: `Make ${u.name} ${role === 'ADMIN' ? 'an administrator' : `a ${ROLE_LABEL[role].toLowerCase()}`}?`,
      body: (
        <>
          <p>
            {role === 'ADMIN'
              ? 'Administrators see every pool’s studies and settings and manage devices, connectors, pools and users.'
              : u.role === 'ADMIN'
                ? 'They lose administration at once and see only the pools they are members of.'
                : 'Their role in each pool is unchanged; what they may do there is set by their pool role.'}
          </p>
          <p>
            {u.pools > 0 ? `They are a member of ${u.pools} ${u.pools === 1 ? 'pool' : 'pools'}.` : 'They are a member of no pool.'} Their current sessions end; they sign in
            again.
          </p>
        </>
      ),
      confirmLabel: `Make ${ROLE_LABEL[role].toLowerCase()}`,
      danger: role === 'ADMIN' || u.role === 'ADMIN',
    });
    if (!ok) return;
    void patch(u, { role }, `role-${u.id}`, `${u.name} is now ${ROLE_LABEL[role].toLowerCase()}.`);
  }

  async function toggleActive(u: UserRow) {
    if (
      u.active &&
      !(await confirm({
        title: `Deactivate ${u.name}?`,
        body: (
          <p>
            They can no longer sign in and their API tokens stop working at once
            {u.pools > 0 ? `; they stay listed as members of ${u.pools} ${u.pools === 1 ? 'pool' : 'pools'} until removed there` : ''}. You can activate them again later.
          </p>
        ),
        confirmLabel: 'Deactivate',
        danger: true,
      }))
    )
      return;
    void patch(u, { active: !u.active }, `active-${u.id}`, u.active ? `${u.name} is deactivated.` : `${u.name} is active again.`);
  }

  return (
    <div className="space-y-4">
      {confirmDialog}
      <div className="flex flex-wrap items-center gap-3">
        <label className="sr-only" htmlFor="user-filter">Filter users</label>
        <input
          id="user-filter"
          className="input max-w-xs"
          placeholder="Filter by name, e-mail or role"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          onKeyDown={(e) => e.key === 'Escape' && setFilter('')}
        />
        <span className="text-slate-500 tabular-nums">
          {shown.length === users.length ? `${users.length} ${users.length === 1 ? 'user' : 'users'}` : `${shown.length} of ${users.length}`}
        </span>
        {!adding && (
          <button type="button" className="btn btn-primary ml-auto" onClick={() => setAdding(true)}>
            New user
          </button>
        )}
      </div>

      {adding && (
        <section className="card p-4" aria-labelledby="create-user-title">
          <h2 id="create-user-title" className="mb-3">New user</h2>
          <CreateUserForm
            onDone={() => {
              setAdding(false);
              router.refresh();
            }}
            onCancel={() => setAdding(false)}
          />
        </section>
      )}

      <div className="card overflow-x-auto">
        <table className="table" aria-label="Users">
          <thead>
            <tr>
              <th>Name</th>
              <th>E-mail</th>
              <th>Role</th>
              <th className="text-right">Pools</th>
              <th>Status</th>
              <th>Created</th>
              <th className="w-px"><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {shown.length === 0 && (
              <tr>
                <td colSpan={7} className="py-6 text-center text-slate-500">
                  No user matches “{filter}”.
                </td>
              </tr>
            )}
            {shown.map((u) => (
              <Fragment key={u.id}>
                <tr className={u.active ? '' : 'text-slate-500'}>
                  <td className="font-medium">
                    {u.name}
                    {u.id === meId && <span className="ml-1 text-xs font-normal text-slate-500">(you)</span>}
                  </td>
                  <td>{u.email}</td>
                  <td>
                    <label className="sr-only" htmlFor={`role-${u.id}`}>Role of {u.name}</label>
                    <select
                      id={`role-${u.id}`}
                      className="input w-auto py-1"
                      value={u.role}
                      disabled={pending !== null}
                      onChange={(e) => changeRole(u, e.target.value as Role)}
                    >
                      <option value="ADMIN">Administrator</option>
                      <option value="COORDINATOR">Coordinator</option>
                      <option value="RESEARCHER">Researcher</option>
                    </select>
                    {pending === `role-${u.id}` && <span className="ml-2 text-xs text-slate-500">Saving…</span>}
                  </td>
                  <td className="text-right tabular-nums">{u.pools}</td>
                  <td>
                    {u.active ? <span className="badge bg-emerald-100 text-emerald-800">active</span> : <span className="badge bg-slate-200 text-slate-600">deactivated</span>}
                  </td>
                  <td className="whitespace-nowrap tabular-nums text-slate-600">{u.created}</td>
                  <td className="whitespace-nowrap text-right">
                    <button type="button" className="btn btn-sm" onClick={() => setResetting(resetting === u.id ? null : u.id)} aria-expanded={resetting === u.id}>
                      Reset password
                    </button>{' '}
                    <button
                      type="button"
                      className={`btn btn-sm ${u.active ? 'btn-danger' : ''}`}
                      onClick={() => toggleActive(u)}
                      disabled={pending !== null}
                    >
                      {pending === `active-${u.id}` ? 'Saving…' : u.active ? 'Deactivate' : 'Reactivate'}
                    </button>
                  </td>
                </tr>
                {resetting === u.id && (
                  <tr>
                    <td colSpan={7} className="bg-sky-50/40 py-2">
                      <ResetPasswordForm
                        user={u}
                        onDone={() => {
                          setResetting(null);
                          setNotice({ id: u.id, ok: true, message: `Password of ${u.name} changed. Give it to them through a safe channel.` });
                        }}
                        onCancel={() => setResetting(null)}
                      />
                    </td>
                  </tr>
                )}
                {notice?.id === u.id && (
                  <tr>
                    <td colSpan={7} className={notice.ok ? 'bg-emerald-50/60' : 'bg-rose-50/60'}>
                      <p role={notice.ok ? 'status' : 'alert'} className={`text-sm ${notice.ok ? 'text-emerald-800' : 'text-rose-800'}`}>
                        {notice.message}
                      </p>
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
