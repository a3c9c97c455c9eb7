/**
 * The OHIF data source for a pool's DICOMweb, shown on the pool's Viewers & DICOMweb tab and in
 * docs/dicomweb.md. Keys as OHIF v3's `@ohif/extension-default.dataSourcesModule.dicomweb`
 * expects them; the values say what this server supports (include fields yes, fuzzy matching no,
 * wildcards yes, frames and metadata over WADO-RS).
 */
import { dicomwebRoot } from '../dicomweb/route';

export function ohifDataSource(poolId: string, poolName: string) {
  const root = dicomwebRoot(poolId);
  return {
    namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
    sourceName: 'tributary',
    configuration: {
      friendlyName: `Tributary: ${poolName}`,
      name: 'tributary',
      wadoUriRoot: `${root}/wado`,
      qidoRoot: root,
      wadoRoot: root,
      qidoSupportsIncludeField: true,
      imageRendering: 'wadors',
      thumbnailRendering: 'wadors',
      enableStudyLazyLoad: true,
      supportsFuzzyMatching: false,
      supportsWildcard: true,
      supportsReject: false,
      dicomUploadEnabled: false,
    },
  };
}

/** The snippet as it goes into OHIF's app-config.js `dataSources` array. */
export function ohifSnippet(poolId: string, poolName: string): string {
  return `${JSON.stringify(ohifDataSource(poolId, poolName), null, 2)},`;
}
