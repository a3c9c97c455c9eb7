/**
 * Every frame of a stored Part-10 file, one at a time, for OCR and redaction (lib/ocr): the
 * header up to the pixel data (raw bytes and parsed), the pixel data element's place, and a
 * reader that returns frame i as native little-endian pixels (compressed frames decoded with
 * lib/imaging/decode.ts). Big-endian and deflated files are not read (both retired or rare in
 * what the engine writes; the caller reports them as unsupported).
 */
import fs from 'node:fs';
import { datasetEncoding, readPart10Header } from '../dicom/part10';
import { TransferSyntax } from '../dicom/uids';
import { fileSource, walkDataset } from '../dicom/walker';
import { readNaturalized, type Naturalized } from './dcmjs';
import { decodeFrame } from './decode';
import { encapsulatedFrame, ImageFormatError, imageAttrs, MAX_FRAME_BYTES, nativeFrameBytes, readAt, type ImageAttrs } from './frame';

const PIXEL_DATA = 0x7fe00010;
const UNDEFINED = 0xffffffff;

export class UnsupportedPixelFileError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface PixelFile {
  transferSyntaxUid: string;
  /** The Part-10 bytes before the pixel data element (preamble, meta, header). */
  headerBytes: Buffer;
  dataset: Naturalized;
  attrs: ImageAttrs;
  frameCount: number;
  encapsulated: boolean;
  /** Frame i as native little-endian pixels, and the attributes that describe them (decoding may change photometric / planar). */
  frame(i: number): Promise<{ bytes: Buffer; attrs: ImageAttrs }>;
  close(): void;
}

/** Opens a Part-10 file with pixel data; throws UnsupportedPixelFileError (with a code) when it cannot be read frame by frame. */
export function openPixelFile(absPath: string): PixelFile {
  const meta = readPart10Header(absPath);
  const enc = datasetEncoding(meta.transferSyntaxUid);
  if (enc.deflated) throw new UnsupportedPixelFileError('deflated', 'deflated transfer syntax');
  if (!enc.littleEndian || meta.transferSyntaxUid === TransferSyntax.ExplicitVRBigEndian) throw new UnsupportedPixelFileError('big-endian', 'big-endian transfer syntax');
  const fd = fs.openSync(absPath, 'r');
  let ok = false;
  try {
    const size = fs.fstatSync(fd).size;
    const src = fileSource(fd, size);
    const walk = walkDataset(src, meta.datasetOffset, { explicitVr: enc.explicitVr, littleEndian: true, stopAfterTag: PIXEL_DATA - 1 });
    if (!walk.stoppedEarly) throw new UnsupportedPixelFileError('no-pixels', 'no pixel data');
    const at = walk.end;
    const h = src.read(at, 12);
    const tag = ((h.readUInt16LE(0) << 16) | h.readUInt16LE(2)) >>> 0;
    if (tag !== PIXEL_DATA) throw new UnsupportedPixelFileError('no-pixels', 'no pixel data');
    const length = enc.explicitVr ? h.readUInt32LE(8) : h.readUInt32LE(4);
    const valueOffset = at + (enc.explicitVr ? 12 : 8);
    const headerBytes = readAt(fd, 0, at);
    const { dataset } = readNaturalized(headerBytes);
    const attrs = imageAttrs(dataset);
    if (attrs.rows < 1 || attrs.columns < 1) throw new ImageFormatError('image without rows or columns');
    if (attrs.bitsAllocated === 1) throw new UnsupportedPixelFileError('1-bit', '1-bit pixel data');
    const encapsulated = length === UNDEFINED;
    const frameBytes = nativeFrameBytes(attrs);
    if (frameBytes > MAX_FRAME_BYTES) throw new UnsupportedPixelFileError('too-large', 'frame too large');
    if (!encapsulated && length < frameBytes * attrs.numberOfFrames) throw new ImageFormatError('pixel data shorter than the image');
    ok = true;
    return {
      transferSyntaxUid: meta.transferSyntaxUid,
      headerBytes,
      dataset,
      attrs,
      frameCount: attrs.numberOfFrames,
      encapsulated,
      async frame(i: number) {
        const a = imageAttrs(dataset, i);
        if (!encapsulated) return { bytes: readAt(fd, valueOffset + i * frameBytes, frameBytes), attrs: a };
        const compressed = encapsulatedFrame(fd, src, valueOffset, a, i, dataset);
        const decoded = await decodeFrame(meta.transferSyntaxUid, a, compressed);
        return { bytes: decoded.bytes, attrs: decoded.attrs };
      },
      close() {
        fs.closeSync(fd);
      },
    };
  } finally {
    if (!ok) fs.closeSync(fd);
  }
}
