import { pageAdmin } from '@/lib/auth/page';
import { listCohortSources } from '@/lib/cohorts/sources';
import { listConnectors } from '@/lib/connectors/connectors';
import { PageHeader } from '@/components/ui';
import { CohortSourcesManager, type CohortSourceRow } from '@/components/admin/cohort-sources';

export const metadata = { title: 'Cohort sources' };

export default async function CohortSourcesPage() {
  const actor = await pageAdmin();
  const [sources, connectors] = await Promise.all([listCohortSources(actor), listConnectors()]);
  return (
    <>
      <PageHeader
        title="Cohort sources"
        subtitle="A read-only SELECT against a hospital database (RIS, research warehouse) whose rows become a query: coordinators choose a source and fill in its parameters; the connector finds and retrieves the studies."
      />
      <CohortSourcesManager
        sources={sources as CohortSourceRow[]}
        connectors={connectors.map((c) => ({ id: c.id, name: c.name, type: c.type }))}
      />
    </>
  );
}
