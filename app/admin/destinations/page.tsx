import { pageAdmin } from '@/lib/auth/page';
import { db } from '@/lib/db';
import { listDestinations } from '@/lib/exports/destinations';
import { PageHeader } from '@/components/ui';
import { DestinationsManager, type DestinationRow } from '@/components/admin/destinations';

export const metadata = { title: 'Destinations' };

export default async function DestinationsPage() {
  await pageAdmin();
  const [rows, devices] = await Promise.all([
    listDestinations(),
    // Explicit select: the device's TLS private key never leaves the server.
    db.device.findMany({ orderBy: { name: 'asc' }, select: { id: true, name: true, aeTitle: true, host: true, port: true, tls: true } }),
  ]);
  // listDestinations gives the secret's state only ("set" / "not set"), never its value.
  const destinations: DestinationRow[] = rows.map((d) => ({
    id: d.id,
    name: d.name,
    type: d.type,
    description: d.description,
    device: d.device,
    storageCommitment: d.storageCommitment,
    maxAssociations: d.maxAssociations,
    webStowUrl: d.webStowUrl,
    webHeaders: d.webHeaders,
    webConnectTimeoutMs: d.webConnectTimeoutMs,
    webReadTimeoutMs: d.webReadTimeoutMs,
    webTlsCa: d.webTlsCa,
    webTlsAllowAnyHost: d.webTlsAllowAnyHost,
    webTlsTrustAll: d.webTlsTrustAll,
    webAuthType: d.webAuthType,
    webUsername: d.webUsername,
    webSecret: d.webSecret,
    webTokenUrl: d.webTokenUrl,
    webScope: d.webScope,
    exporterCount: d.exporterCount,
  }));
  return (
    <>
      <PageHeader
        title="Destinations"
        subtitle="Archives that pools may export studies to (STOW-RS or C-STORE). Pool owners choose one when they set up an exporter; administrators never point a pool at one."
      />
      <DestinationsManager destinations={destinations} devices={devices} />
    </>
  );
}
