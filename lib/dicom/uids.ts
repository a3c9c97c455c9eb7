/**
 * UIDs and constants shared by the DICOM layer. Kept free of dcmjs-dimse imports so that
 * pure helpers (Part-10 header, element walker, synthetic generator) load without the
 * networking stack.
 */
import { AppError } from '../errors';

/** Our implementation class UID, sent in A-ASSOCIATE and written into Part-10 meta headers. */
export const IMPLEMENTATION_CLASS_UID = '1.2.826.0.1.3680043.10.1078.0.1';
/** At most 16 characters (SH). */
export const IMPLEMENTATION_VERSION_NAME = 'TRIBUTARY_0_1';

export const TransferSyntax = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  DeflatedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVRBigEndian: '1.2.840.10008.1.2.2',
  JpegBaseline: '1.2.840.10008.1.2.4.50',
  JpegExtended: '1.2.840.10008.1.2.4.51',
  JpegLossless: '1.2.840.10008.1.2.4.57',
  JpegLosslessSv1: '1.2.840.10008.1.2.4.70',
  JpegLsLossless: '1.2.840.10008.1.2.4.80',
  JpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  Jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  Jpeg2000: '1.2.840.10008.1.2.4.91',
  HtJpeg2000Lossless: '1.2.840.10008.1.2.4.201',
  HtJpeg2000LosslessRpcl: '1.2.840.10008.1.2.4.202',
  HtJpeg2000: '1.2.840.10008.1.2.4.203',
  JpegXlLossless: '1.2.840.10008.1.2.4.110',
  JpegXlJpegRecompression: '1.2.840.10008.1.2.4.111',
  JpegXl: '1.2.840.10008.1.2.4.112',
  RleLossless: '1.2.840.10008.1.2.5',
} as const;

export const SopClass = {
  Verification: '1.2.840.10008.1.1',
  CtImageStorage: '1.2.840.10008.5.1.4.1.1.2',
  MrImageStorage: '1.2.840.10008.5.1.4.1.1.4',
  SecondaryCaptureImageStorage: '1.2.840.10008.5.1.4.1.1.7',
  StudyRootFind: '1.2.840.10008.5.1.4.1.2.2.1',
  StudyRootMove: '1.2.840.10008.5.1.4.1.2.2.2',
  StudyRootGet: '1.2.840.10008.5.1.4.1.2.2.3',
} as const;

/**
 * THE UID check: a UID as it may appear in a file name or be looked up: digits and dots only,
 * 1..64 characters, no empty components (so never ".", "..", "", "a/b" or a leading/trailing
 * dot). Everything that builds a storage path from a UID goes through this (lib/storage,
 * the SCP's staging, the folder anonymizer), and DICOMweb checks request UIDs with it.
 */
export function isSafeUid(uid: unknown): uid is string {
  return typeof uid === 'string' && uid.length > 0 && uid.length <= 64 && /^[0-9]+(\.[0-9]+)*$/.test(uid);
}

/**
 * isSafeUid or BAD_REQUEST. The message names what was wrong, never the value (a source UID is
 * PHI-adjacent). STOW-RS answers it as 0xC000 (cannot understand) for that object.
 */
export function requireSafeUid(uid: unknown, what: string): string {
  if (!isSafeUid(uid)) throw new AppError('BAD_REQUEST', `Invalid ${what}: a UID must be 1 to 64 digits and dots, without empty components`);
  return uid;
}
