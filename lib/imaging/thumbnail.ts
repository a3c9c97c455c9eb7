/**
 * One stored instance -> one PNG thumbnail (about 128 px on its long side), or a placeholder that
 * says why there is none. Never throws for a bad file: the reason is in the result.
 */
import { decodeFrame, UnsupportedCompressionError } from './decode';
import { ImageFormatError, readThumbnailFrame } from './frame';
import { placeholderPng, type PlaceholderReason } from './placeholder';
import { encodePng } from './png';
import { renderFrame, UnsupportedImageError, type VoiWindow } from './render';

export const THUMBNAIL_SIZE = 128;

export type ThumbnailResult =
  | { kind: 'image'; png: Buffer; width: number; height: number; window?: VoiWindow; frameIndex: number; decoded: boolean }
  | { kind: 'placeholder'; png: Buffer; reason: PlaceholderReason; detail?: string };

function placeholder(reason: PlaceholderReason, detail?: string): ThumbnailResult {
  return { kind: 'placeholder', png: placeholderPng(reason), reason, detail };
}

export async function thumbnailOfFile(absPath: string, size = THUMBNAIL_SIZE): Promise<ThumbnailResult> {
  let frame;
  try {
    frame = readThumbnailFrame(absPath);
  } catch (e) {
    if (e instanceof ImageFormatError) return placeholder('unreadable', e.message);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw e;
    return placeholder('unreadable', e instanceof Error ? e.message : String(e));
  }
  if (frame.kind === 'no-pixels') return placeholder('no-image');
  if (frame.kind === 'too-large') return placeholder('too-large');
  let { attrs, bytes } = frame;
  let littleEndian = frame.littleEndian;
  if (frame.encapsulated) {
    try {
      ({ attrs, bytes } = await decodeFrame(frame.transferSyntaxUid, attrs, bytes));
      littleEndian = true;
    } catch (e) {
      return placeholder('compressed', e instanceof Error ? e.message : String(e));
    }
  }
  try {
    const { raster, window } = renderFrame(attrs, bytes, { littleEndian, size });
    return { kind: 'image', png: encodePng(raster), width: raster.width, height: raster.height, window, frameIndex: frame.frameIndex, decoded: frame.encapsulated };
  } catch (e) {
    if (e instanceof UnsupportedImageError) return placeholder('unsupported', e.message);
    if (e instanceof UnsupportedCompressionError) return placeholder('compressed', e.message);
    return placeholder('unreadable', e instanceof Error ? e.message : String(e));
  }
}
