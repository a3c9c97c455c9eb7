/**
 * The slice of dcmjs the generator needs, typed locally. dcmjs ships no type declarations;
 * declaring the module globally here could clash with declarations other parts of the app add,
 * so the untyped import is narrowed to this interface instead.
 */
// @ts-ignore -- dcmjs has no type declarations; narrowed to DcmjsData below.
import dcmjsModule from 'dcmjs';

/** Denaturalized element: dcmjs's on-the-wire form, keyed by 8-hex-digit tag. */
export interface DenaturalizedElement {
  vr: string;
  Value?: unknown[];
}
export type DenaturalizedDataset = Record<string, DenaturalizedElement>;

interface DicomDictInstance {
  dict: DenaturalizedDataset;
  write(options?: Record<string, unknown>): ArrayBuffer;
}

interface DcmjsData {
  DicomDict: new (meta: DenaturalizedDataset) => DicomDictInstance;
}

const dcmjs = dcmjsModule as { data: DcmjsData };

/** Writes a Part-10 buffer (preamble, meta group, dataset) with dcmjs. */
export function writePart10(meta: DenaturalizedDataset, dataset: DenaturalizedDataset): Buffer {
  const dict = new dcmjs.data.DicomDict(meta);
  dict.dict = dataset;
  return Buffer.from(dict.write());
}
