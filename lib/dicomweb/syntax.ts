/**
 * Transfer syntaxes and the media types their pixel data travels as in WADO-RS (PS3.18 Table
 * 8.7.3-2/-3). Tributary stores what the modality sent (after de-identification) and never
 * transcodes, so these tables decide what a client may be answered with.
 */
export const TS = {
  ImplicitLE: '1.2.840.10008.1.2',
  ExplicitLE: '1.2.840.10008.1.2.1',
  DeflatedLE: '1.2.840.10008.1.2.1.99',
  ExplicitBE: '1.2.840.10008.1.2.2',
} as const;

/** Uncompressed syntaxes whose frames are raw little-endian pixel bytes. */
export const NATIVE_LE = new Set<string>([TS.ImplicitLE, TS.ExplicitLE]);

const BY_SYNTAX: Record<string, string> = {
  '1.2.840.10008.1.2.4.50': 'image/jpeg',
  '1.2.840.10008.1.2.4.51': 'image/jpeg',
  '1.2.840.10008.1.2.4.57': 'image/jpeg',
  '1.2.840.10008.1.2.4.70': 'image/jpeg',
  '1.2.840.10008.1.2.4.80': 'image/jls',
  '1.2.840.10008.1.2.4.81': 'image/jls',
  '1.2.840.10008.1.2.4.90': 'image/jp2',
  '1.2.840.10008.1.2.4.91': 'image/jp2',
  '1.2.840.10008.1.2.4.92': 'image/jpx',
  '1.2.840.10008.1.2.4.93': 'image/jpx',
  '1.2.840.10008.1.2.4.201': 'image/jphc',
  '1.2.840.10008.1.2.4.202': 'image/jphc',
  '1.2.840.10008.1.2.4.203': 'image/jphc',
  '1.2.840.10008.1.2.4.110': 'image/jxl',
  '1.2.840.10008.1.2.4.111': 'image/jxl',
  '1.2.840.10008.1.2.4.112': 'image/jxl',
  '1.2.840.10008.1.2.5': 'image/dicom-rle',
};

/** Video syntaxes (MPEG-2, MPEG-4, HEVC): one stream, not frames; frame retrieval is refused for them. */
const VIDEO = new Set(['100', '100.1', '101', '101.1', '102', '103', '104', '105', '106', '107', '108'].map((s) => `1.2.840.10008.1.2.4.${s}`));

export function isVideo(ts: string): boolean {
  return VIDEO.has(ts);
}

/** The media type of one frame (or of pixel bulk data) stored in `ts`; null when frames cannot be cut out of it. */
export function frameMediaType(ts: string): string | null {
  if (NATIVE_LE.has(ts)) return 'application/octet-stream';
  if (isVideo(ts)) return null;
  return BY_SYNTAX[ts] ?? null;
}

/** Encapsulated (compressed) pixel data: fragments in items rather than one value. */
export function isEncapsulated(ts: string): boolean {
  return !NATIVE_LE.has(ts) && ts !== TS.DeflatedLE && ts !== TS.ExplicitBE;
}
