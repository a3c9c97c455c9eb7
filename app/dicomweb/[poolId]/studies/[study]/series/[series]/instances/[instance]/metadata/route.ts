/** WADO-RS instance metadata. */
import { dicomweb, preflight } from '@/lib/dicomweb/route';
import { retrieveMetadata } from '@/lib/dicomweb/wado';

export const GET = dicomweb<{ study: string; series: string; instance: string }>('read', retrieveMetadata);
export const OPTIONS = preflight;
