import { pageAdmin } from '@/lib/auth/page';
import { db } from '@/lib/db';
import { publicDevice } from '@/lib/devices/tls';
import { PageHeader } from '@/components/ui';
import { DevicesManager, type DeviceRow } from '@/components/admin/devices';

export const metadata = { title: 'Devices' };

export default async function DevicesPage() {
  await pageAdmin();
  const rows = await db.device.findMany({
    orderBy: { name: 'asc' },
    select: {
      id: true,
      name: true,
      aeTitle: true,
      host: true,
      port: true,
      tls: true,
      tlsCaCertificates: true,
      tlsClientCertificate: true,
      tlsClientKey: true,
      tlsMinVersion: true,
      tlsCiphers: true,
      tlsRequireClientCertificate: true,
      addresses: true,
      description: true,
      _count: { select: { connectors: true, allowedInPools: true } },
    },
  });
  // publicDevice: the private key stays on the server; the browser learns only whether it is set.
  const devices: DeviceRow[] = rows.map(({ _count, ...d }) => ({ ...publicDevice(d), connectors: _count.connectors, pools: _count.allowedInPools }));
  return (
    <>
      <PageHeader
        title="Devices"
        subtitle="Remote DICOM nodes: the PACS Tributary queries and retrieves from, and modalities allowed to send into a pool."
      />
      <DevicesManager devices={devices} />
    </>
  );
}
