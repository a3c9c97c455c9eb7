/** WADO-RS retrieve series: multipart/related; type="application/dicom". */
import { dicomweb, preflight } from '@/lib/dicomweb/route';
import { retrieveInstances } from '@/lib/dicomweb/wado';

export const GET = dicomweb<{ study: string; series: string }>('read', retrieveInstances);
export const OPTIONS = preflight;
