/** QIDO-RS search for the instances of a series. */
import { dicomweb, preflight } from '@/lib/dicomweb/route';
import { search } from '@/lib/dicomweb/qido';

export const GET = dicomweb<{ study: string; series: string }>('read', (c) => search(c, 'instance'));
export const OPTIONS = preflight;
