/** QIDO-RS search for the series of a study. */
import { dicomweb, preflight } from '@/lib/dicomweb/route';
import { search } from '@/lib/dicomweb/qido';

export const GET = dicomweb<{ study: string }>('read', (c) => search(c, 'series'));
export const OPTIONS = preflight;
