import { pagePool } from '@/lib/auth/page';
import { audit } from '@/lib/audit';
import { getStudy } from '@/lib/pools/studies';
import { AppError } from '@/lib/errors';
import { notFound } from 'next/navigation';
import { PageHeader, formatDicomDate } from '@/components/ui';

export default async function StudyPage({ params }: { params: Promise<{ poolId: string; studyId: string }> }) {
  const { poolId, studyId } = await params;
  const { pool, actor } = await pagePool(poolId, 'read');
  const study = await getStudy(pool.id, studyId).catch((e) => {
    if (e instanceof AppError && e.code === 'NOT_FOUND') notFound();
    throw e;
  });
  await audit({ userId: actor.userId, action: 'study.view', poolId: pool.id, targetType: 'study', targetId: study.id });
  return (
    <>
      <PageHeader
        title={`${study.patientId} · ${study.studyDescription || 'Study'}`}
        subtitle={`${formatDicomDate(study.studyDate)} · ${study.modalities.split('\\').join(', ')} · ${study.numSeries} series · ${study.numInstances} instances`}
        crumbs={[{ href: '/pools', label: 'Pools' }, { href: `/pools/${pool.id}`, label: pool.name }]}
      />
      <section className="card mb-4 p-3">
        <dl className="grid grid-cols-2 gap-x-6 gap-y-1 sm:grid-cols-4">
          <div><dt className="label">Research ID</dt><dd className="font-mono text-xs">{study.patientId}</dd></div>
          <div><dt className="label">Research name</dt><dd>{study.patientName}</dd></div>
          <div><dt className="label">Sex</dt><dd>{study.patientSex || '—'}</dd></div>
          <div><dt className="label">Study date (shifted)</dt><dd>{formatDicomDate(study.studyDate) || '—'}</dd></div>
          <div className="col-span-2"><dt className="label">Study Instance UID (research)</dt><dd className="break-all font-mono text-xs">{study.studyInstanceUid}</dd></div>
          <div><dt className="label">Accession</dt><dd>{study.accessionNumber || '—'}</dd></div>
        </dl>
      </section>
      {study.series.map((s) => (
        <section key={s.id} className="card mb-3">
          <header className="flex items-baseline gap-3 border-b border-slate-100 px-3 py-2">
            <h2>Series {s.seriesNumber ?? '—'} · {s.modality}</h2>
            <span className="text-slate-600">{s.seriesDescription}</span>
            <span className="ml-auto text-slate-500 tabular-nums">{s.instances.length} instances</span>
          </header>
          <div className="max-h-72 overflow-y-auto">
            <table className="table">
              <thead>
                <tr><th>#</th><th>SOP Instance UID</th><th>Size</th><th>Rows×Cols</th><th>Rule version</th><th></th></tr>
              </thead>
              <tbody>
                {s.instances.map((i) => (
                  <tr key={i.id}>
                    <td className="tabular-nums">{i.instanceNumber ?? ''}</td>
                    <td className="font-mono text-xs">{i.sopInstanceUid}</td>
                    <td className="tabular-nums">{(i.size / 1024).toFixed(0)} KB</td>
                    <td className="tabular-nums">{i.rows && i.columns ? `${i.rows}×${i.columns}` : ''}</td>
                    <td className="tabular-nums">v{i.ruleVersion}</td>
                    <td><a href={`/api/v1/pools/${pool.id}/instances/${i.id}/file`} download>Download</a></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ))}
    </>
  );
}
