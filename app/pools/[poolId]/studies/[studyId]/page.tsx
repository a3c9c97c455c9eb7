import { notFound } from 'next/navigation';
import { pagePool, poolPageTitle } from '@/lib/auth/page';
import { audit } from '@/lib/audit';
import { AppError } from '@/lib/errors';
import { provenanceFile } from '@/lib/pools/provenance';
import { getStudy } from '@/lib/pools/studies';
import { PageHeader, formatDicomDate } from '@/components/ui';
import { OhifLink } from '@/components/viewers/ohif-link';
import { WeasisButton } from '@/components/viewers/weasis-button';
import { ExportButton } from '@/components/exports/export-dialog';
import { exportChoices } from '@/lib/exports/exporters';

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export async function generateMetadata({ params }: { params: Promise<{ poolId: string }> }) {
  return poolPageTitle((await params).poolId, 'read', 'Study');
}

export default async function StudyPage({ params }: { params: Promise<{ poolId: string; studyId: string }> }) {
  const { poolId, studyId } = await params;
  const access = await pagePool(poolId, 'read');
  const { pool, actor } = access;
  const study = await getStudy(pool.id, studyId).catch((e) => {
    if (e instanceof AppError && e.code === 'NOT_FOUND') notFound();
    throw e;
  });
  await audit({ userId: actor.userId, action: 'study.view', poolId: pool.id, targetType: 'study', targetId: study.id });
  const bytes = study.series.reduce((n, s) => n + s.instances.reduce((m, i) => m + i.size, 0), 0);
  const instances = study.series.reduce((n, s) => n + s.instances.length, 0);
  const api = `/api/v1/pools/${pool.id}`;
  const provenance = (await provenanceFile(pool.id, [study.id])).studies[0]?.events ?? [];
  const when = (d: string | null) => (d ? d.slice(0, 16).replace('T', ' ') : '—');
  const exporters = await exportChoices(access.actor, access);
  return (
    <>
      <PageHeader
        title={`${study.patientId} · ${study.studyDescription || 'Study'}`}
        subtitle={`${formatDicomDate(study.studyDate) || 'no date'} · ${study.modalities.split('\\').filter(Boolean).join(', ')} · ${study.series.length} series · ${instances} instances · ${formatBytes(bytes)}`}
        crumbs={[{ href: '/pools', label: 'Pools' }, { href: `/pools/${pool.id}`, label: pool.name }]}
        actions={
          instances > 0 ? (
            <div className="flex flex-wrap items-start gap-2">
              <OhifLink poolId={pool.id} studyInstanceUids={[study.studyInstanceUid]} label="View" description="View this study in the viewer" className="btn btn-primary btn-sm" />
              <a className="btn btn-sm" href={`${api}/studies/${study.id}/download`} download>
                Download study (zip)
              </a>
              <WeasisButton poolId={pool.id} studyIds={[study.id]} />
              {exporters && exporters.length > 0 && <ExportButton poolId={pool.id} exporters={exporters} scope={{ studyIds: [study.id], label: 'this study' }} />}
            </div>
          ) : undefined
        }
      />
      <section className="card mb-4 p-3" aria-label="Study details">
        <dl className="grid grid-cols-2 gap-x-6 gap-y-1 sm:grid-cols-4">
          <div><dt className="label">Research ID</dt><dd className="font-mono text-xs">{study.patientId}</dd></div>
          <div><dt className="label">Research name</dt><dd>{study.patientName || '—'}</dd></div>
          <div><dt className="label">Sex</dt><dd>{study.patientSex || '—'}</dd></div>
          <div><dt className="label">Study date (shifted)</dt><dd>{formatDicomDate(study.studyDate) || '—'}</dd></div>
          <div className="col-span-2"><dt className="label">Study Instance UID (research)</dt><dd className="break-all font-mono text-xs">{study.studyInstanceUid}</dd></div>
          <div><dt className="label">Accession</dt><dd>{study.accessionNumber || '—'}</dd></div>
        </dl>
      </section>

      <section className="card mb-4 p-3" aria-labelledby="provenance-title">
        <div className="mb-2 flex flex-wrap items-baseline gap-3">
          <h2 id="provenance-title">Provenance</h2>
          <span className="text-slate-600">Where this study came from: no source identifiers.</span>
          <a className="ml-auto" href={`${api}/studies/${study.id}/provenance`} download="provenance.json">
            Download provenance.json
          </a>
        </div>
        {provenance.length === 0 ? (
          <p className="text-slate-600">No provenance recorded (the study came in before provenance was kept).</p>
        ) : (
          <table className="table" aria-label="Provenance">
            <thead>
              <tr>
                <th>Source</th>
                <th>From</th>
                <th>Method</th>
                <th>Retrieval (UTC)</th>
                <th>Rules</th>
                <th>Research identity</th>
              </tr>
            </thead>
            <tbody>
              {provenance.map((p, i) => (
                <tr key={i}>
                  <td>
                    {p.source.label}
                    {p.query && <div className="font-mono text-xs text-slate-500">query {p.query.id}</div>}
                  </td>
                  <td>
                    {p.connector ? <>connector {p.connector.name}</> : p.device ? <>device {p.device.name ?? p.device.aeTitle} ({p.device.aeTitle})</> : p.storedBy ? <>{p.storedBy.name ?? p.storedBy.id}</> : '—'}
                    {p.cohortSource && <div className="text-xs text-slate-500">cohort source {p.cohortSource.name}</div>}
                  </td>
                  <td>{p.method}</td>
                  <td className="whitespace-nowrap text-xs tabular-nums">
                    {p.retrieval ? (
                      <>
                        requested {when(p.retrieval.requestedAt)}
                        <br />
                        started {when(p.retrieval.startedAt)}
                        <br />
                        finished {when(p.retrieval.finishedAt)}
                      </>
                    ) : (
                      <>stored {when(p.firstStoredAt)}{p.lastStoredAt !== p.firstStoredAt ? ` – ${when(p.lastStoredAt)}` : ''}</>
                    )}
                  </td>
                  <td className="tabular-nums">{p.ruleVersions.map((v) => `v${v}`).join(', ')}</td>
                  <td>{p.identitySource.label}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <h2 className="mb-2">Series</h2>
      {study.series.length === 0 ? (
        <p className="card mb-4 p-3 text-slate-600">This study has no series in the pool yet: its instances are still arriving or were held in quarantine.</p>
      ) : (
        <ul className="mb-5 grid grid-cols-[repeat(auto-fill,minmax(9.5rem,1fr))] gap-3" aria-label="Series thumbnails">
          {study.series.map((s) => (
            <li key={s.id} className="card overflow-hidden">
              <a href={`#series-${s.id}`} className="block hover:no-underline" title={`Series ${s.seriesNumber ?? '—'} ${s.seriesDescription}`}>
                <div className="flex h-36 items-center justify-center bg-black">
                  {/* eslint-disable-next-line @next/next/no-img-element -- server-rendered PNG from our API */}
                  <img
                    src={`${api}/series/${s.id}/thumbnail?v=${s.instances.length}`}
                    alt={`Series ${s.seriesNumber ?? ''} ${s.modality} thumbnail`}
                    width={128}
                    height={128}
                    className="max-h-32 max-w-32 object-contain"
                    loading={study.series.length > 12 ? 'lazy' : 'eager'}
                    decoding="async"
                  />
                </div>
                <div className="px-2 py-1.5 text-xs">
                  <div className="font-medium text-slate-800">
                    <span className="tabular-nums">S{s.seriesNumber ?? '—'}</span> · {s.modality || '—'}
                    <span className="float-right font-normal tabular-nums text-slate-500">{s.instances.length}</span>
                  </div>
                  <div className="truncate text-slate-600">{s.seriesDescription || 'no description'}</div>
                </div>
              </a>
            </li>
          ))}
        </ul>
      )}

      {study.series.map((s) => (
        <section key={s.id} id={`series-${s.id}`} className="card mb-3 scroll-mt-4" aria-label={`Series ${s.seriesNumber ?? ''} instances`}>
          <header className="flex flex-wrap items-baseline gap-3 border-b border-slate-100 px-3 py-2">
            <h3 className="font-semibold">Series {s.seriesNumber ?? '—'} · {s.modality}</h3>
            <span className="text-slate-600">{s.seriesDescription}</span>
            {s.bodyPartExamined && <span className="badge bg-slate-100 text-slate-600">{s.bodyPartExamined}</span>}
            <span className="ml-auto tabular-nums text-slate-500">
              {s.instances.length} instances · {formatBytes(s.instances.reduce((n, i) => n + i.size, 0))}
            </span>
          </header>
          <div className="max-h-72 overflow-y-auto" tabIndex={0}>
            <table className="table">
              <thead>
                <tr>
                  <th className="w-14 text-right">#</th>
                  <th>SOP Instance UID</th>
                  <th className="text-right">Size</th>
                  <th>Rows × cols</th>
                  <th>Frames</th>
                  <th>Rules</th>
                  <th><span className="sr-only">Download</span></th>
                </tr>
              </thead>
              <tbody>
                {s.instances.map((i) => (
                  <tr key={i.id}>
                    <td className="text-right tabular-nums">{i.instanceNumber ?? ''}</td>
                    <td className="font-mono text-xs">{i.sopInstanceUid}</td>
                    <td className="whitespace-nowrap text-right tabular-nums">{formatBytes(i.size)}</td>
                    <td className="whitespace-nowrap tabular-nums">{i.rows && i.columns ? `${i.rows} × ${i.columns}` : '—'}</td>
                    <td className="tabular-nums">{i.numberOfFrames ?? (i.rows ? 1 : '—')}</td>
                    <td className="tabular-nums">v{i.ruleVersion}</td>
                    <td className="text-right">
                      <a href={`${api}/instances/${i.id}/file`} download aria-label={`Download instance ${i.instanceNumber ?? ''}`}>
                        Download
                      </a>
                    </td>
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
