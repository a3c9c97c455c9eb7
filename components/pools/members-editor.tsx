'use client';
/**
 * Members of a pool, for its owners (settings page): add a user by their exact e-mail address
 * (owners cannot browse the users of the system), change a member's role, remove a member. The
 * server keeps at least one owner (409); the controls say so before anyone tries.
 */
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { apiFetch } from '@/components/api-client';
import { useConfirm } from '@/components/confirm-dialog';

type PoolRole = 'OWNER' | 'COORDINATOR' | 'RESEARCHER';

export interface MemberRow {
  userId: string;
  name: string;
  email: string;
  active: boolean;
  role: PoolRole;
}

const ROLE_LABEL: Record<PoolRole, string> = { OWNER: 'Owner', COORDINATOR: 'Coordinator', RESEARCHER: 'Researcher' };
const ROLE_HELP: Record<PoolRole, string> = {
  OWNER: 'manages members and rules; alone reads the identity map',
  COORDINATOR: 'queries the PACS and retrieves studies',
  RESEARCHER: 'browses, views and downloads de-identified studies',
};

export function MembersEditor({ poolId, members: initial, selfId }: { poolId: string; members: MemberRow[]; selfId: string }) {
  const router = useRouter();
  const [members, setMembers] = useState(initial);
  const [pending, setPending] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<PoolRole>('RESEARCHER');
  const [confirm, confirmDialog] = useConfirm();
  const owners = members.filter((m) => m.role === 'OWNER').length;
  const base = `/pools/${encodeURIComponent(poolId)}/members`;

  function fail(message: string, fields?: Record<string, string[]>) {
    const detail = fields ? Object.values(fields).flat().filter((f) => !message.toLowerCase().includes(f.toLowerCase())) : [];
    setError(detail.length ? `${message} (${detail.join('; ')})` : message);
  }

  async function add(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    setNotice(null);
    if (!email.trim()) return setError('Enter the e-mail address of the person to add.');
    setPending('add');
    const res = await apiFetch<MemberRow>(base, { method: 'POST', body: { email, role } });
    setPending(null);
    if (!res.ok) return fail(res.error.message, res.error.fields);
    setMembers((m) => [...m, res.data]);
    setNotice(`${res.data.name} was added as ${ROLE_LABEL[res.data.role].toLowerCase()}.`);
    setEmail('');
    router.refresh();
  }

  async function changeRole(m: MemberRow, next: PoolRole) {
    const self = m.userId === selfId;
    const ok = await confirm({
      title: self ? `Change your own role to ${ROLE_LABEL[next].toLowerCase()}?` : `Make ${m.name} ${ROLE_LABEL[next].toLowerCase()} of this pool?`,
      body: (
        <p>
          {next === 'OWNER'
            ? 'Owners read the identity map and lookup tables, save the rules and decide on quarantined images.'
            : m.role === 'OWNER'
              ? `${self ? 'You' : 'They'} lose the identity map, the rules and the quarantine at once.`
              : next === 'COORDINATOR'
                ? 'Coordinators query the PACS (seeing source identities) and retrieve studies into this pool.'
                : 'Researchers see the pool’s de-identified studies only.'}{' '}
          The other owners are told.
        </p>
      ),
      confirmLabel: `Make ${ROLE_LABEL[next].toLowerCase()}`,
      danger: m.role === 'OWNER' || next === 'OWNER',
    });
    if (!ok) return;
    setError(null);
    setNotice(null);
    setPending(m.userId);
    const res = await apiFetch<{ userId: string; role: PoolRole }>(`${base}/${encodeURIComponent(m.userId)}`, { method: 'PATCH', body: { role: next } });
    setPending(null);
    if (!res.ok) return fail(res.error.message, res.error.fields);
    setMembers((all) => all.map((x) => (x.userId === m.userId ? { ...x, role: res.data.role } : x)));
    if (m.userId === selfId && next !== 'OWNER') router.push(`/pools/${poolId}`);
    else router.refresh();
  }

  async function remove(m: MemberRow) {
    const self = m.userId === selfId;
    const ok = await confirm({
      title: self ? 'Leave this pool?' : `Remove ${m.name} from this pool?`,
      body: <p>{self ? 'You lose access to it at once.' : `They lose access to its studies at once (their role: ${m.role.toLowerCase()}). The other owners are told.`}</p>,
      confirmLabel: self ? 'Leave pool' : 'Remove member',
      danger: true,
    });
    if (!ok) return;
    setError(null);
    setNotice(null);
    setPending(`rm-${m.userId}`);
    const res = await apiFetch(`${base}/${encodeURIComponent(m.userId)}`, { method: 'DELETE' });
    setPending(null);
    if (!res.ok) return fail(res.error.message, res.error.fields);
    if (self) return router.push('/pools');
    setMembers((all) => all.filter((x) => x.userId !== m.userId));
    setNotice(`${m.name} was removed.`);
    router.refresh();
  }

  return (
    <div className="space-y-3">
      {confirmDialog}
      {members.length === 0 ? (
        <p className="text-slate-500">Nobody is a member of this pool yet.</p>
      ) : (
        <div className="-mx-1 overflow-x-auto">
        <table className="table w-full" aria-label="Members">
          <thead>
            <tr>
              <th>Member</th>
              <th>Role in pool</th>
              <th className="w-px"><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => {
              const lastOwner = m.role === 'OWNER' && owners <= 1;
              return (
                <tr key={m.userId}>
                  <td className="font-medium">
                    {m.name}
                    {m.userId === selfId && <span className="ml-1 text-xs font-normal text-slate-500">(you)</span>}
                    {!m.active && <span className="badge ml-2 bg-slate-200 text-slate-600">inactive</span>}
                    <span className="block break-all text-xs font-normal text-slate-600">{m.email}</span>
                  </td>
                  <td className="whitespace-nowrap">
                    <label className="sr-only" htmlFor={`member-role-${m.userId}`}>Role of {m.name}</label>
                    <select
                      id={`member-role-${m.userId}`}
                      className="input w-auto py-1"
                      value={m.role}
                      disabled={pending !== null || lastOwner}
                      title={lastOwner ? 'The last owner: make another member an owner first' : ROLE_HELP[m.role]}
                      onChange={(e) => void changeRole(m, e.target.value as PoolRole)}
                    >
                      {(Object.keys(ROLE_LABEL) as PoolRole[]).map((r) => (
                        <option key={r} value={r}>{ROLE_LABEL[r]}</option>
                      ))}
                    </select>
                    {pending === m.userId && <span className="ml-2 text-xs text-slate-500">Saving…</span>}
                  </td>
                  <td className="text-right">
                    <button
                      type="button"
                      className="btn btn-sm btn-danger"
                      disabled={pending !== null || lastOwner}
                      title={lastOwner ? 'The last owner cannot be removed: make another member an owner first' : undefined}
                      onClick={() => void remove(m)}
                    >
                      {pending === `rm-${m.userId}` ? 'Removing…' : m.userId === selfId ? 'Leave' : 'Remove'}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        </div>
      )}
      {owners === 1 && <p className="text-xs text-slate-500">A pool keeps at least one owner: to hand the pool over, make the new owner an owner first, then change or remove yourself.</p>}

      <form onSubmit={add} className="flex flex-wrap items-end gap-2" aria-label="Add a member">
        <div className="min-w-56 flex-1">
          <label className="label" htmlFor="add-member-email">Add by e-mail</label>
          <input
            id="add-member-email"
            type="email"
            autoComplete="off"
            spellCheck={false}
            className="input"
            placeholder="name@hospital.org"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </div>
        <div>
          <label className="label" htmlFor="add-member-role">Role</label>
          <select id="add-member-role" className="input w-auto" value={role} onChange={(e) => setRole(e.target.value as PoolRole)} title={ROLE_HELP[role]}>
            {(Object.keys(ROLE_LABEL) as PoolRole[]).map((r) => (
              <option key={r} value={r}>{ROLE_LABEL[r]}</option>
            ))}
          </select>
        </div>
        <button type="submit" className="btn btn-primary" disabled={pending !== null}>
          {pending === 'add' ? 'Adding…' : 'Add'}
        </button>
      </form>
      <p className="text-xs text-slate-500">The person needs an account (an administrator creates it); enter the exact address it was created with. {ROLE_LABEL[role]}: {ROLE_HELP[role]}.</p>
      {error && <p role="alert" className="text-sm text-rose-700">{error}</p>}
      {notice && !error && <p role="status" className="text-sm text-emerald-800">{notice}</p>}
    </div>
  );
}
