import { pageAdmin } from '@/lib/auth/page';
import { listConnectors } from '@/lib/connectors/connectors';
import { db } from '@/lib/db';
import { env } from '@/lib/env';
import { PageHeader } from '@/components/ui';
import { CapabilityCheck, type CapabilitiesView } from '@/components/admin/capabilities';
import { ConnectorsManager, type ConnectorRow, type DeviceOption, type PoolOption } from '@/components/admin/connectors';

export const metadata = { title: 'Connectors' };

export default async function ConnectorsPage() {
  await pageAdmin();
  const [rows, deviceRows, poolRows] = await Promise.all([
    listConnectors(),
    db.device.findMany({ orderBy: { name: 'asc' }, select: { id: true, name: true, aeTitle: true, host: true, port: true } }),
    // Explicit select: the pool secret never leaves the server.
    db.pool.findMany({ orderBy: [{ kind: 'desc' }, { name: 'asc' }], select: { id: true, name: true, aeTitle: true, kind: true } }),
  ]);
  const connectors: ConnectorRow[] = rows.map((c) => ({
    id: c.id,
    name: c.name,
    type: c.type,
    retrieveMethod: c.retrieveMethod,
    maxAssociations: c.maxAssociations,
    schedule: c.schedule,
    deactivatedCriteria: c.deactivatedCriteria,
    device: c.device ? { id: c.device.id, name: c.device.name, aeTitle: c.device.aeTitle, host: c.device.host, port: c.device.port, tls: c.device.tls } : null,
    queryPool: { id: c.queryPool.id, name: c.queryPool.name, aeTitle: c.queryPool.aeTitle },
    receivingPool: { id: c.receivingPool.id, name: c.receivingPool.name, aeTitle: c.receivingPool.aeTitle },
    web:
      c.type === 'DICOMWEB'
        ? {
            baseUrl: c.webBaseUrl ?? '',
            qidoRoot: c.webQidoRoot,
            wadoRoot: c.webWadoRoot,
            wadoUriRoot: c.webWadoUriRoot,
            includeField: c.webIncludeField,
            fuzzyMatching: c.webFuzzyMatching,
            transferSyntax: c.webTransferSyntax,
            headers: (c.webHeaders ?? {}) as Record<string, string>,
            connectTimeoutMs: c.webConnectTimeoutMs,
            readTimeoutMs: c.webReadTimeoutMs,
            tlsCa: c.webTlsCa,
            tlsAllowAnyHost: c.webTlsAllowAnyHost,
            tlsTrustAll: c.webTlsTrustAll,
            authType: c.webAuthType,
            username: c.webUsername,
            // listConnectors gives the secret's state only ("set" / "not set"), never its value.
            secret: c.webSecret,
            tokenUrl: c.webTokenUrl,
            scope: c.webScope,
          }
        : undefined,
  }));
  const devices: DeviceOption[] = deviceRows;
  const pools: PoolOption[] = poolRows;
  const e = env();
  return (
    <>
      <PageHeader
        title="Connectors"
        subtitle="How Tributary reaches a PACS: the device, the AE title it queries as, the AE title the PACS sends studies to, and when."
      />
      {rows
        .filter((c) => c.moveProblem)
        .map((c) => (
          <div key={c.id} role="alert" className="mb-4 rounded border border-red-300 bg-red-50 p-3 text-sm text-red-900">
            <strong>{c.name}:</strong> {c.moveProblem}
            {c.moveProblemAt ? <span className="ml-1 text-red-700">(since {c.moveProblemAt.toISOString().slice(0, 16).replace('T', ' ')} UTC)</span> : null}
          </div>
        ))}
      <ConnectorsManager connectors={connectors} devices={devices} pools={pools} scp={{ host: e.DICOM_ADVERTISED_HOST, port: e.DICOM_PORT, tlsPort: e.DICOM_TLS_PORT ?? null }} />
      <div className="mt-4">
        <CapabilityCheck connectors={rows.map((c) => ({ id: c.id, name: c.name, capabilities: (c.capabilities ?? null) as CapabilitiesView | null }))} />
      </div>
    </>
  );
}
