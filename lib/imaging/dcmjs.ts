/**
 * The slice of dcmjs the imaging code reads with, typed locally (dcmjs ships no declarations;
 * see lib/synthetic/dcmjs-writer.ts for why the module is not declared globally).
 */
// @ts-ignore -- dcmjs has no type declarations; narrowed to DcmjsRead below.
import dcmjsModule from 'dcmjs';

/** A naturalized dataset: keyword -> value (numbers, strings, arrays, nested datasets). */
export type Naturalized = Record<string, unknown>;

interface DcmjsRead {
  data: {
    DicomMessage: { readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): { meta: Record<string, unknown>; dict: Record<string, unknown> } };
    DicomMetaDictionary: { naturalizeDataset(dict: Record<string, unknown>): Naturalized };
  };
}

const dcmjs = dcmjsModule as DcmjsRead;

export function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** Parses a Part-10 buffer (possibly cut before the pixel data) into meta and dataset. */
export function readNaturalized(part10: Uint8Array): { transferSyntaxUid: string; dataset: Naturalized } {
  const file = dcmjs.data.DicomMessage.readFile(toArrayBuffer(part10), { ignoreErrors: true });
  const meta = dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.meta);
  return { transferSyntaxUid: String(meta.TransferSyntaxUID ?? ''), dataset: dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.dict) };
}

/** First numeric value of a naturalized attribute (DS/IS/US values may be arrays or strings). */
export function num(v: unknown): number | undefined {
  const first = Array.isArray(v) ? v[0] : v;
  if (first === undefined || first === null || first === '') return undefined;
  const n = typeof first === 'number' ? first : Number(String(first).trim());
  return Number.isFinite(n) ? n : undefined;
}

export function str(v: unknown): string | undefined {
  const first = Array.isArray(v) ? v[0] : v;
  if (first === undefined || first === null) return undefined;
  return String(first).trim();
}

/** First item of a naturalized sequence, if any. */
export function item(v: unknown, index = 0): Naturalized | undefined {
  if (Array.isArray(v)) return (v[index] as Naturalized | undefined) ?? undefined;
  if (v && typeof v === 'object') return index === 0 ? (v as Naturalized) : undefined;
  return undefined;
}
