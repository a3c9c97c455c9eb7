import { pagePool, poolPageTitle } from '@/lib/auth/page';
import { listDestinations } from '@/lib/exports/destinations';
import { db } from '@/lib/db';
import { PageHeader } from '@/components/ui';
import { ExportersManager, type DestinationChoice, type ExporterRow } from '@/components/exports/exporters-manager';
import { PoolTabs } from '../pool-tabs';

export async function generateMetadata({ params }: { params: Promise<{ poolId: string }> }) {
  return poolPageTitle((await params).poolId, 'exporters', 'Exporters');
}

/** The owner's exporters page: only the pool's owner (never an administrator) sets up where its studies may go. */
export default async function PoolExportersPage({ params }: { params: Promise<{ poolId: string }> }) {
  const { poolId } = await params;
  const { pool, poolRole, isAdmin } = await pagePool(poolId, 'exporters');
  const [rows, destinations] = await Promise.all([
    db.exporter.findMany({
      where: { poolId: pool.id },
      orderBy: { name: 'asc' },
      include: { destination: { select: { id: true, name: true, type: true, storageCommitment: true } }, _count: { select: { exports: true } } },
    }),
    listDestinations(),
  ]);
  // The overrides' values never leave the server: only whether they are set.
  const exporters: ExporterRow[] = rows.map((x) => ({
    id: x.id,
    name: x.name,
    destination: x.destination,
    chunked: x.chunked,
    concurrency: x.concurrency,
    instancesPerRequest: x.instancesPerRequest,
    transferSyntaxes: x.transferSyntaxes,
    bearerToken: x.bearerToken ? 'set' : 'not set',
    basicAuth: x.basicAuth ? 'set' : 'not set',
    allowAnyHostname: x.allowAnyHostname,
    disableTrustManager: x.disableTrustManager,
    storageCommitment: x.storageCommitment,
    schedule: x.schedule,
    autoExport: x.autoExport,
    enabled: x.enabled,
    exportCount: x._count.exports,
  }));
  const choices: DestinationChoice[] = destinations.map((d) => ({
    id: d.id,
    name: d.name,
    type: d.type,
    storageCommitment: d.storageCommitment,
    where: d.type === 'DICOMWEB' ? (d.webStowUrl ?? '') : d.device ? `${d.device.aeTitle} @ ${d.device.host}:${d.device.port}` : 'no device',
  }));
  return (
    <>
      <PageHeader title={pool.name} subtitle="Exporters: where this pool’s studies may be sent, and how." crumbs={[{ href: '/pools', label: 'Pools' }]} />
      <PoolTabs poolId={pool.id} active="exporters" poolRole={poolRole} isAdmin={isAdmin} />
      <ExportersManager poolId={pool.id} exporters={exporters} destinations={choices} />
    </>
  );
}
