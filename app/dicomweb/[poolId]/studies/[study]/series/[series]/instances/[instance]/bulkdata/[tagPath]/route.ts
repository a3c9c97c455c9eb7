/** WADO-RS bulk data: the target of the BulkDataURI values in metadata answers. */
import { dicomweb, preflight } from '@/lib/dicomweb/route';
import { retrieveBulkdata } from '@/lib/dicomweb/wado';

export const GET = dicomweb<{ study: string; series: string; instance: string; tagPath: string }>('read', retrieveBulkdata);
export const OPTIONS = preflight;
