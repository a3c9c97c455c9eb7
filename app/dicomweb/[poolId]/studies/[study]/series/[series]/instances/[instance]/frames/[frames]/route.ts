/** WADO-RS frames (`1` or `1,2,3`) in the stored transfer syntax. */
import { dicomweb, preflight } from '@/lib/dicomweb/route';
import { retrieveFrames } from '@/lib/dicomweb/wado';

export const GET = dicomweb<{ study: string; series: string; instance: string; frames: string }>('read', retrieveFrames);
export const OPTIONS = preflight;
