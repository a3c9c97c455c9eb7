/** WADO-RS retrieve instance (multipart/related, or a bare application/dicom when asked for). */
import { dicomweb, preflight } from '@/lib/dicomweb/route';
import { retrieveInstances } from '@/lib/dicomweb/wado';

export const GET = dicomweb<{ study: string; series: string; instance: string }>('read', retrieveInstances);
export const OPTIONS = preflight;
