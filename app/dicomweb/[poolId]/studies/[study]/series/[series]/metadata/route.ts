/** WADO-RS series metadata (what OHIF loads a series with). */
import { dicomweb, preflight } from '@/lib/dicomweb/route';
import { retrieveMetadata } from '@/lib/dicomweb/wado';

export const GET = dicomweb<{ study: string; series: string }>('read', retrieveMetadata);
export const OPTIONS = preflight;
