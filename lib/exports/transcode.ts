/**
 * What an exporter sends for one stored instance, given the transfer syntaxes the destination
 * accepts (Exporter.transferSyntaxes; seed property `transfer-syntax`). Shared by the STOW-RS
 * and C-STORE senders.
 *
 * - Nothing listed, or the stored syntax listed: the stored file as it is (streamed, not read
 *   into memory here).
 * - Otherwise: converted to Explicit VR Little Endian (Implicit VR Little Endian when that is
 *   the only uncompressed syntax listed) when we can: uncompressed Implicit/Explicit LE, Explicit
 *   Big Endian and Deflated Explicit LE by re-encoding the dataset (dcmjs), and the compressed
 *   syntaxes lib/imaging decodes (RLE, JPEG baseline/lossless, JPEG-LS, JPEG 2000, HTJ2K, JPEG XL)
 *   through dcmjs-dimse's codecs. The converted bytes are held in memory (one instance).
 * - Otherwise (a video syntax, a codec we lack, or a list with no uncompressed syntax the stored
 *   one is not in): the instance fails with the reason, nothing is sent.
 */
import fs from 'node:fs/promises';
import { buildPart10Header, readPart10Header } from '../dicom/part10';
import { TransferSyntax } from '../dicom/uids';
import { codecsReady, decodeFrame, DECODABLE_SYNTAXES } from '../imaging/decode';
import type { Naturalized } from '../imaging/dcmjs';
import { imageAttrs } from '../imaging/frame';
// @ts-ignore -- dcmjs has no type declarations.
import dcmjs from 'dcmjs';

export const EXPLICIT_LE = TransferSyntax.ExplicitVRLittleEndian;
export const IMPLICIT_LE = TransferSyntax.ImplicitVRLittleEndian;
const UNCOMPRESSED = new Set<string>([TransferSyntax.ImplicitVRLittleEndian, TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ExplicitVRBigEndian, TransferSyntax.DeflatedExplicitVRLittleEndian]);

export type Prepared =
  | { kind: 'as-stored'; transferSyntaxUid: string; file: string; size: number }
  | { kind: 'converted'; transferSyntaxUid: string; bytes: Buffer; size: number }
  | { kind: 'refused'; reason: string };

/** The syntax to convert to, or null when the list names no uncompressed syntax we write. */
export function targetSyntax(accepted: readonly string[]): string | null {
  if (accepted.includes(EXPLICIT_LE)) return EXPLICIT_LE;
  if (accepted.includes(IMPLICIT_LE)) return IMPLICIT_LE;
  return null;
}

/** Whether we can convert `stored` to an uncompressed syntax at all. */
export function canDecompress(stored: string): boolean {
  return UNCOMPRESSED.has(stored) || DECODABLE_SYNTAXES.has(stored);
}

/**
 * Decides and, when needed, converts. `storedTs` is the index's value; the file's own meta
 * header is read to be sure (a file re-written since would say so).
 */
export async function prepareForDestination(file: string, storedTs: string, accepted: readonly string[]): Promise<Prepared> {
  if (accepted.length === 0 || accepted.includes(storedTs)) {
    const st = await fs.stat(file);
    return { kind: 'as-stored', transferSyntaxUid: storedTs, file, size: st.size };
  }
  const target = targetSyntax(accepted);
  if (!target) return { kind: 'refused', reason: `stored as ${storedTs}, which the exporter does not list, and the list names no uncompressed syntax to convert to` };
  if (!canDecompress(storedTs)) return { kind: 'refused', reason: `stored as ${storedTs}, which the destination does not accept and Tributary cannot decompress` };
  try {
    const bytes = await convert(await fs.readFile(file), storedTs, target);
    return { kind: 'converted', transferSyntaxUid: target, bytes, size: bytes.length };
  } catch (e) {
    return { kind: 'refused', reason: `converting ${storedTs} to ${target} failed (${e instanceof Error ? e.message.slice(0, 120) : 'unknown error'})` };
  }
}

type Element = { vr: string; Value?: unknown[] };
type Dict = Record<string, Element>;
interface DcmjsData {
  DicomMessage: { readFile(b: ArrayBuffer, o?: unknown): { meta: Dict; dict: Dict } };
  DicomDict: new (meta: Dict) => { dict: Dict; write(o?: unknown): ArrayBuffer };
  DicomMetaDictionary: { naturalizeDataset(d: unknown): Naturalized };
}
const data = (dcmjs as { data: DcmjsData }).data;

const toAb = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

function swap(ab: ArrayBuffer, width: 2 | 4 | 8): ArrayBuffer {
  const b = Buffer.from(ab.slice(0));
  if (b.length % width) return b.buffer;
  if (width === 2) b.swap16();
  else if (width === 4) b.swap32();
  else b.swap64();
  return toAb(b);
}

/** dcmjs hands big-endian OW/OF/OL/OD values over as raw bytes: put them in little-endian order. */
function swapWords(dict: Dict) {
  for (const el of Object.values(dict)) {
    const width = el.vr === 'OW' ? 2 : el.vr === 'OF' || el.vr === 'OL' ? 4 : el.vr === 'OD' ? 8 : 0;
    if (width && Array.isArray(el.Value)) el.Value = el.Value.map((v) => (v instanceof ArrayBuffer ? swap(v, width as 2 | 4 | 8) : v));
    if (el.vr === 'SQ' && Array.isArray(el.Value)) for (const item of el.Value) swapWords(item as Dict);
  }
}

/**
 * Part-10 bytes of `input` re-encoded in `target` (an uncompressed little-endian syntax). Every
 * element is kept as read (private ones included, strings in their character set); only the
 * pixel data is decoded when it was compressed.
 */
export async function convert(input: Buffer, storedTs: string, target: string): Promise<Buffer> {
  const fileTs = readPart10Header(input).transferSyntaxUid || storedTs;
  const { meta, dict } = data.DicomMessage.readFile(toAb(input), { ignoreErrors: true, untilTag: null, includeUntilTagValue: false });
  if (fileTs === TransferSyntax.ExplicitVRBigEndian) swapWords(dict);
  if (DECODABLE_SYNTAXES.has(fileTs)) {
    if (!(await codecsReady())) throw new Error('the image codecs could not be loaded');
    const px = dict['7FE00010'];
    const frames = (px?.Value ?? []) as ArrayBuffer[];
    if (!frames.length) throw new Error('no pixel data');
    const { '7FE00010': _px, ...rest } = dict;
    const nat = data.DicomMetaDictionary.naturalizeDataset(rest);
    const attrs = imageAttrs(nat);
    const out: Buffer[] = [];
    let outAttrs = attrs;
    for (const f of frames) {
      const d = await decodeFrame(fileTs, attrs, Buffer.from(f));
      out.push(Buffer.from(d.bytes));
      outAttrs = d.attrs;
    }
    let pixels = Buffer.concat(out);
    if (pixels.length % 2) pixels = Buffer.concat([pixels, Buffer.alloc(1)]);
    dict['7FE00010'] = { vr: attrs.bitsAllocated > 8 ? 'OW' : 'OB', Value: [toAb(pixels)] };
    dict['00280004'] = { vr: 'CS', Value: [outAttrs.photometric] };
    if (attrs.samplesPerPixel > 1) dict['00280006'] = { vr: 'US', Value: [outAttrs.planarConfiguration] };
    // Lossy stays lossy: (0028,2110) keeps what the stored instance said.
  }
  meta['00020010'] = { vr: 'UI', Value: [target] };
  const out = new data.DicomDict(meta);
  out.dict = dict;
  const written = Buffer.from(out.write());
  // Our own meta header (same SOP class/instance), the dataset bytes as dcmjs wrote them.
  const h = readPart10Header(written);
  return Buffer.concat([
    buildPart10Header({
      sopClassUid: h.mediaStorageSopClassUid ?? String(dict['00080016']?.Value?.[0] ?? ''),
      sopInstanceUid: h.mediaStorageSopInstanceUid ?? String(dict['00080018']?.Value?.[0] ?? ''),
      transferSyntaxUid: target,
    }),
    written.subarray(h.datasetOffset),
  ]);
}
