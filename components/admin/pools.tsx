'use client';
/** Pool administration: the pool's identity (name, AE title, kind), its members, and deletion. */
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { apiFetch, validate } from '@/components/api-client';
import { useConfirm } from '@/components/confirm-dialog';
import { poolInputSchema, poolPatchSchema } from '@/lib/pools/schema';
import { escapeCancels, FormAlert, OtherFieldErrors, str, useApiAction, useFieldBinder } from './kit';
import { KIND_HELP, type PoolKind } from './pool-kinds';

export type PoolRole = 'OWNER' | 'COORDINATOR' | 'RESEARCHER';
export type { PoolKind };

export interface PoolFields {
  id: string;
  name: string;
  aeTitle: string;
  description: string;
  kind: PoolKind;
}

const KNOWN = ['name', 'aeTitle', 'description', 'kind'];

export function PoolForm({ initial, onDone, onCancel }: { initial?: PoolFields; onDone: (pool: { id: string }) => void; onCancel?: () => void }) {
  const a = useApiAction();
  const f = useFieldBinder(a.fields);
  const [kind, setKind] = useState<PoolKind>(initial?.kind ?? 'RESEARCH');

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const value = { name: str(fd.get('name')), aeTitle: str(fd.get('aeTitle')), description: str(fd.get('description')), kind };
    const v = validate(initial ? poolPatchSchema : poolInputSchema, value);
    if (!v.ok) return a.invalid(v.fields);
    const res = await a.run(() =>
      initial
        ? apiFetch<{ id: string }>(`/pools/${initial.id}`, { method: 'PATCH', body: v.data })
        : apiFetch<{ id: string }>('/pools', { method: 'POST', body: v.data }),
    );
    if (res) onDone(res);
  }

  return (
    <form onSubmit={onSubmit} onKeyDown={escapeCancels(onCancel)} noValidate aria-label={initial ? 'Edit pool' : 'Create pool'} className="space-y-3">
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-12">
        <div className="sm:col-span-5">
          <label className="label" htmlFor={f.id('name')}>Name *</label>
          <input {...f.input('name')} defaultValue={initial?.name} autoFocus autoComplete="off" placeholder="Lung nodule follow-up 2025" />
          {f.error('name')}
        </div>
        <div className="sm:col-span-3">
          <label className="label" htmlFor={f.id('aeTitle')}>AE title * <span className="font-normal text-slate-400">(≤ 16, unique)</span></label>
          <input {...f.input('aeTitle', 'font-mono')} defaultValue={initial?.aeTitle} maxLength={16} autoComplete="off" spellCheck={false} placeholder="LUNG_FU" />
          {f.error('aeTitle')}
        </div>
        <fieldset className="sm:col-span-4">
          <legend className="label">Kind</legend>
          <div className="flex gap-3 pt-1">
            {(['RESEARCH', 'INFRASTRUCTURE'] as const).map((k) => (
              <label key={k} className="flex items-center gap-1.5 text-sm">
                <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} />
                {k === 'RESEARCH' ? 'Research' : 'Infrastructure'}
              </label>
            ))}
          </div>
          {f.error('kind')}
        </fieldset>
        <div className="sm:col-span-12">
          <p className="-mt-1 text-xs text-slate-500">{KIND_HELP[kind].help}</p>
        </div>
        <div className="sm:col-span-12">
          <label className="label" htmlFor={f.id('description')}>Description</label>
          <textarea {...f.input('description')} defaultValue={initial?.description} rows={2} placeholder="Study, protocol number, principal investigator" />
          {f.error('description')}
        </div>
      </div>
      <OtherFieldErrors fields={a.fields} known={KNOWN} />
      <FormAlert message={a.error} />
      <div className="flex items-center gap-2">
        <button type="submit" className="btn btn-primary" disabled={a.busy}>
          {a.busy ? 'Saving…' : initial ? 'Save changes' : 'Create pool'}
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

/** "New pool" button that opens the create form; goes to the new pool's page to add members. */
export function CreatePool({ startOpen }: { startOpen: boolean }) {
  const router = useRouter();
  const [open, setOpen] = useState(startOpen);
  if (!open)
    return (
      <button type="button" className="btn btn-primary" onClick={() => setOpen(true)}>
        New pool
      </button>
    );
  return (
    <section className="card mb-4 w-full p-4" aria-labelledby="create-pool-title">
      <h2 id="create-pool-title" className="mb-3">Create a pool</h2>
      <PoolForm onDone={(p) => router.push(`/admin/pools/${p.id}`)} onCancel={startOpen ? undefined : () => setOpen(false)} />
    </section>
  );
}

/** The pool detail page's settings card: read view with an Edit button, or the form. */
export function PoolSettings({ pool }: { pool: PoolFields }) {
  const router = useRouter();
  const [editing, setEditing] = useState(false);
  if (editing)
    return (
      <PoolForm
        initial={pool}
        onDone={() => {
          setEditing(false);
          router.refresh();
        }}
        onCancel={() => setEditing(false)}
      />
    );
  return (
    <div className="flex items-start justify-between gap-4">
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
        <dt className="text-slate-500">Name</dt>
        <dd className="font-medium">{pool.name}</dd>
        <dt className="text-slate-500">AE title</dt>
        <dd className="font-mono text-xs leading-5">{pool.aeTitle}</dd>
        <dt className="text-slate-500">Kind</dt>
        <dd>
          {KIND_HELP[pool.kind].label} <span className="text-xs text-slate-500">— {KIND_HELP[pool.kind].help}</span>
        </dd>
        <dt className="text-slate-500">Description</dt>
        <dd className="text-slate-700">{pool.description || <span className="text-slate-400">—</span>}</dd>
      </dl>
      <button type="button" className="btn btn-sm" onClick={() => setEditing(true)}>
        Edit
      </button>
    </div>
  );
}

export interface MemberRow {
  userId: string;
  name: string;
  email: string;
  role: PoolRole;
  active: boolean;
}
export interface UserOption {
  id: string;
  name: string;
  email: string;
  active: boolean;
}

const ROLE_HELP: Record<PoolRole, string> = {
  OWNER: 'Owner: manages members, alone saves the rules and reads the identity map (never an administrator account)',
  COORDINATOR: 'Coordinator: queries the PACS and retrieves studies',
  RESEARCHER: 'Researcher: browses, views and downloads de-identified studies',
};

/** Members: every change sends the whole list (PUT /pools/{id}/members). */
export function PoolMembers({ poolId, kind, members: initial, users }: { poolId: string; kind: PoolKind; members: MemberRow[]; users: UserOption[] }) {
  const router = useRouter();
  const [members, setMembers] = useState(initial);
  const [pending, setPending] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [addUser, setAddUser] = useState('');
  const [addRole, setAddRole] = useState<PoolRole>('RESEARCHER');
  const [confirm, confirmDialog] = useConfirm();
  const candidates = users.filter((u) => !members.some((m) => m.userId === u.id));

  async function save(next: MemberRow[], key: string): Promise<boolean> {
    setPending(key);
    setError(null);
    const res = await apiFetch<{ role: PoolRole; user: { id: string; name: string; email: string } }[]>(`/pools/${poolId}/members`, {
      method: 'PUT',
      body: { members: next.map((m) => ({ userId: m.userId, role: m.role })) },
    });
    setPending(null);
    if (!res.ok) {
      setError(res.error.message + (res.error.fields ? ` (${Object.values(res.error.fields).flat().join('; ')})` : ''));
      return false;
    }
    setMembers(
      res.data.map((m) => ({
        userId: m.user.id,
        name: m.user.name,
        email: m.user.email,
        role: m.role,
        active: users.find((u) => u.id === m.user.id)?.active ?? true,
      })),
    );
    router.refresh();
    return true;
  }

  async function onAdd(e: React.FormEvent) {
    e.preventDefault();
    if (!addUser) return setError('Choose a user to add.');
    const u = users.find((x) => x.id === addUser);
    if (!u) return;
    if (await save([...members, { userId: u.id, name: u.name, email: u.email, role: addRole, active: u.active }], 'add')) setAddUser('');
  }

  const owners = members.filter((m) => m.role === 'OWNER').length;

  return (
    <div className="space-y-3">
      {confirmDialog}
      {kind === 'RESEARCH' && members.length > 0 && owners === 0 && (
        <p className="rounded-md border border-amber-200 bg-amber-50 px-2.5 py-1.5 text-sm text-amber-900">
          This pool has no owner: nobody can read its identity map (real ↔ research identities) or manage it except administrators.
        </p>
      )}
      {members.length === 0 ? (
        <p className="text-slate-500">
          {kind === 'RESEARCH'
            ? 'No members yet. Add the study’s owner (honest broker), its coordinators (they query and retrieve) and its researchers.'
            : 'Infrastructure pools usually have no members: nobody browses them.'}
        </p>
      ) : (
        <table className="table" aria-label="Members">
          <thead>
            <tr>
              <th>Name</th>
              <th>E-mail</th>
              <th>Pool role</th>
              <th className="w-px"><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.userId}>
                <td className="font-medium">
                  {m.name}
                  {!m.active && <span className="badge ml-2 bg-slate-200 text-slate-600">inactive</span>}
                </td>
                <td className="text-slate-600">{m.email}</td>
                <td>
                  <label className="sr-only" htmlFor={`role-${m.userId}`}>Pool role of {m.name}</label>
                  <select
                    id={`role-${m.userId}`}
                    className="input w-auto py-1"
                    value={m.role}
                    disabled={pending !== null}
                    title={ROLE_HELP[m.role]}
                    onChange={async (e) => {
                      const next = e.target.value as PoolRole;
                      const ok = await confirm({
                        title: `Make ${m.name} ${next.toLowerCase()} of this pool?`,
                        body: <p>{ROLE_HELP[next]}. The pool’s owners are told.</p>,
                        confirmLabel: 'Change role',
                        danger: m.role === 'OWNER' || next === 'OWNER',
                      });
                      if (ok) void save(members.map((x) => (x.userId === m.userId ? { ...x, role: next } : x)), m.userId);
                    }}
                  >
                    <option value="OWNER">Owner</option>
                    <option value="COORDINATOR">Coordinator</option>
                    <option value="RESEARCHER">Researcher</option>
                  </select>
                  {pending === m.userId && <span className="ml-2 text-xs text-slate-500">Saving…</span>}
                </td>
                <td className="text-right">
                  <button
                    type="button"
                    className="btn btn-sm btn-danger"
                    disabled={pending !== null}
                    onClick={async () => {
                      if (
                        await confirm({
                          title: `Remove ${m.name} from this pool?`,
                          body: <p>They lose access to its studies at once. The pool’s owners are told.</p>,
                          confirmLabel: 'Remove member',
                          danger: true,
                        })
                      )
                        void save(members.filter((x) => x.userId !== m.userId), `rm-${m.userId}`);
                    }}
                  >
                    {pending === `rm-${m.userId}` ? 'Removing…' : 'Remove'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <form onSubmit={onAdd} className="flex flex-wrap items-end gap-2" aria-label="Add member">
        <div className="min-w-64 flex-1">
          <label className="label" htmlFor="add-member-user">Add a member</label>
          <select id="add-member-user" className="input" value={addUser} onChange={(e) => setAddUser(e.target.value)} disabled={!candidates.length}>
            <option value="">{candidates.length ? 'Choose a user…' : 'Every user is already a member'}</option>
            {candidates.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name} — {u.email}
                {u.active ? '' : ' (inactive)'}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label className="label" htmlFor="add-member-role">Pool role</label>
          <select id="add-member-role" className="input w-auto" value={addRole} onChange={(e) => setAddRole(e.target.value as PoolRole)}>
            <option value="OWNER">Owner</option>
            <option value="COORDINATOR">Coordinator</option>
            <option value="RESEARCHER">Researcher</option>
          </select>
        </div>
        <button type="submit" className="btn btn-primary" disabled={pending !== null || !candidates.length}>
          {pending === 'add' ? 'Adding…' : 'Add'}
        </button>
      </form>
      <p className="text-xs text-slate-500">{ROLE_HELP[addRole]}.</p>
      <FormAlert message={error} />
    </div>
  );
}

export function DeletePool({ pool, studies }: { pool: { id: string; name: string }; studies: number }) {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const [confirm, confirmDialog] = useConfirm();

  async function onDelete() {
    const ok = await confirm({
      title: `Delete the pool “${pool.name}”?`,
      body:
        studies > 0 ? (
          <p>
            It holds {studies} de-identified {studies === 1 ? 'study' : 'studies'}. Deleting it removes them, its identity map (the only link between research and
            real identities), its lookup tables and its queries. This cannot be undone.
          </p>
        ) : (
          <p>It holds no study. Its members, rules and queries are removed with it. This cannot be undone.</p>
        ),
      confirmLabel: 'Delete pool',
      danger: true,
      typeToConfirm: studies > 0 ? pool.name : undefined,
    });
    if (!ok) return;
    setBusy(true);
    setError(null);
    const res = await apiFetch(`/pools/${pool.id}`, { method: 'DELETE' });
    setBusy(false);
    if (!res.ok) return setError(res.error.message);
    router.push('/admin/pools');
    router.refresh();
  }

  return (
    <div className="space-y-2">
      {confirmDialog}
      <button type="button" className="btn btn-danger" onClick={onDelete} disabled={busy}>
        {busy ? 'Deleting…' : 'Delete pool'}
      </button>
      <FormAlert message={error} />
    </div>
  );
}
