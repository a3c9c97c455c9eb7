/** WADO-RS study metadata (DICOM JSON, BulkDataURI for pixel data and large binary values). */
import { dicomweb, preflight } from '@/lib/dicomweb/route';
import { retrieveMetadata } from '@/lib/dicomweb/wado';

export const GET = dicomweb<{ study: string }>('read', retrieveMetadata);
export const OPTIONS = preflight;
