/** QIDO-RS search for studies; STOW-RS store into the pool (the pool's owner only: need 'ingest'). */
import { dicomweb, preflight } from '@/lib/dicomweb/route';
import { search } from '@/lib/dicomweb/qido';
import { stow } from '@/lib/dicomweb/stow';

export const GET = dicomweb('read', (c) => search(c, 'study'));
export const POST = dicomweb('ingest', stow);
export const OPTIONS = preflight;
