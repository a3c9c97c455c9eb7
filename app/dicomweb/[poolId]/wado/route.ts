/** WADO-URI (`?requestType=WADO&studyUID=&seriesUID=&objectUID=&contentType=application/dicom`), used by Weasis manifests. */
import { dicomweb, preflight } from '@/lib/dicomweb/route';
import { wadoUri } from '@/lib/dicomweb/wado';

export const GET = dicomweb('read', wadoUri);
export const OPTIONS = preflight;
