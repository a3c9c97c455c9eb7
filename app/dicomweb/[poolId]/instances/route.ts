/** QIDO-RS search for instances across the pool. */
import { dicomweb, preflight } from '@/lib/dicomweb/route';
import { search } from '@/lib/dicomweb/qido';

export const GET = dicomweb('read', (c) => search(c, 'instance'));
export const OPTIONS = preflight;
