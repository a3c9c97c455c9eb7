/** QIDO-RS search for the instances of a study. */
import { dicomweb, preflight } from '@/lib/dicomweb/route';
import { search } from '@/lib/dicomweb/qido';

export const GET = dicomweb<{ study: string }>('read', (c) => search(c, 'instance'));
export const OPTIONS = preflight;
