import { pageAdmin } from '@/lib/auth/page';
import { db } from '@/lib/db';
import { listUsers } from '@/lib/users/users';
import { PageHeader } from '@/components/ui';
import { formatDate } from '@/components/admin/format';
import { UsersManager, type UserRow } from '@/components/admin/users';

export const metadata = { title: 'Users' };

export default async function UsersPage() {
  const actor = await pageAdmin();
  const [rows, memberships] = await Promise.all([listUsers(), db.poolMember.groupBy({ by: ['userId'], _count: { _all: true } })]);
  const pools = new Map(memberships.map((m) => [m.userId, m._count._all]));
  const users: UserRow[] = rows.map((u) => ({
    id: u.id,
    name: u.name,
    email: u.email,
    role: u.role,
    active: u.active,
    created: formatDate(u.createdAt),
    pools: pools.get(u.id) ?? 0,
  }));
  return (
    <>
      <PageHeader title="Users" subtitle="Who can sign in, and their global role. Pool membership is managed on each pool’s page." />
      <UsersManager users={users} meId={actor.userId} />
    </>
  );
}
