/**
 * Decoding one compressed frame (JPEG baseline/lossless, JPEG-LS, JPEG 2000, HT-JPEG 2000, RLE,
 * JPEG XL) with dcmjs-codecs' WebAssembly codecs, reached through dcmjs-dimse's Transcoding (the
 * package the app already loads from node_modules at run time, so the WASM file is found next
 * to dcmjs-codecs rather than inside a bundle). Anything else (MPEG video, unknown syntaxes)
 * is reported as unsupported and the caller shows a placeholder.
 */
import { dimse } from '../dicom/dimse';
import { TransferSyntax } from '../dicom/uids';
import type { Naturalized } from './dcmjs';
import type { ImageAttrs } from './frame';

export const DECODABLE_SYNTAXES = new Set<string>([
  TransferSyntax.JpegBaseline,
  TransferSyntax.JpegLosslessSv1,
  TransferSyntax.JpegLsLossless,
  TransferSyntax.JpegLsNearLossless,
  TransferSyntax.Jpeg2000Lossless,
  TransferSyntax.Jpeg2000,
  TransferSyntax.HtJpeg2000Lossless,
  TransferSyntax.HtJpeg2000LosslessRpcl,
  TransferSyntax.HtJpeg2000,
  TransferSyntax.JpegXlLossless,
  TransferSyntax.JpegXl,
  TransferSyntax.RleLossless,
]);

let ready: Promise<boolean> | null = null;

/** Loads the codecs once per process; false if they cannot be loaded here. */
export function codecsReady(): Promise<boolean> {
  ready ??= (async () => {
    try {
      try {
        dimse.log.setLevel('silent');
      } catch {
        /* logger API changed */
      }
      if (!dimse.Transcoding.isInitialized()) await dimse.Transcoding.initializeAsync();
      return true;
    } catch {
      return false;
    }
  })();
  return ready;
}

export class UnsupportedCompressionError extends Error {}

export interface DecodedFrame {
  bytes: Buffer;
  attrs: ImageAttrs;
}

/** Decodes one compressed frame to native little-endian pixels. */
export async function decodeFrame(transferSyntaxUid: string, attrs: ImageAttrs, frame: Buffer): Promise<DecodedFrame> {
  if (!DECODABLE_SYNTAXES.has(transferSyntaxUid)) throw new UnsupportedCompressionError(`no decoder for ${transferSyntaxUid}`);
  if (!(await codecsReady())) throw new UnsupportedCompressionError('codecs unavailable');
  const elements: Naturalized = {
    Rows: attrs.rows,
    Columns: attrs.columns,
    BitsAllocated: attrs.bitsAllocated,
    BitsStored: attrs.bitsStored,
    HighBit: attrs.highBit,
    PixelRepresentation: attrs.pixelRepresentation,
    SamplesPerPixel: attrs.samplesPerPixel,
    PhotometricInterpretation: attrs.photometric,
    NumberOfFrames: 1,
    PixelData: [frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength)],
  };
  if (attrs.samplesPerPixel > 1) elements.PlanarConfiguration = attrs.planarConfiguration;
  let out: Naturalized;
  try {
    const ds = new dimse.Dataset(elements as Record<string, unknown>, transferSyntaxUid);
    out = dimse.Transcoding.transcodeDataset(ds, TransferSyntax.ExplicitVRLittleEndian).getElements() as Naturalized;
  } catch (e) {
    throw new UnsupportedCompressionError(`decoding failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const px = out.PixelData;
  const first = (Array.isArray(px) ? px[0] : px) as ArrayBuffer | ArrayBufferView | undefined;
  if (!first) throw new UnsupportedCompressionError('decoder returned no pixels');
  const bytes = ArrayBuffer.isView(first) ? Buffer.from(first.buffer, first.byteOffset, first.byteLength) : Buffer.from(first);
  const photometric = typeof out.PhotometricInterpretation === 'string' ? out.PhotometricInterpretation.toUpperCase() : attrs.photometric;
  const planar = out.PlanarConfiguration === 1 ? 1 : 0;
  return { bytes, attrs: { ...attrs, photometric, planarConfiguration: attrs.samplesPerPixel > 1 ? planar : attrs.planarConfiguration } };
}
