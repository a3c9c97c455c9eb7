/** QIDO-RS search for series across the pool. */
import { dicomweb, preflight } from '@/lib/dicomweb/route';
import { search } from '@/lib/dicomweb/qido';

export const GET = dicomweb('read', (c) => search(c, 'series'));
export const OPTIONS = preflight;
