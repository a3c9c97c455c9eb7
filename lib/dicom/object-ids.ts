/**
 * The few header values that place a DICOM file (SOP class and instance, PatientID, study and
 * series UIDs), read from its first bytes without parsing the rest. Used where an object arrives
 * outside a retrieval: STOW-RS (lib/dicomweb/stow.ts) and C-STORE pushes (lib/receive/push.ts).
 */
import fs from 'node:fs/promises';
import { datasetEncoding, inflatePrefix, readPart10Header } from './part10';
import { bufferSource, fileSource, rawString, tag, walkDataset } from './walker';

const T_SOP_CLASS = tag(0x0008, 0x0016);
const T_SOP = tag(0x0008, 0x0018);
const T_PATIENT_ID = tag(0x0010, 0x0020);
const T_STUDY = tag(0x0020, 0x000d);
const T_SERIES = tag(0x0020, 0x000e);

export interface ObjectIds {
  sopClassUid: string;
  sopInstanceUid: string;
  patientId: string;
  studyUid: string;
  seriesUid: string;
}

/** The ids, or null when the file is not a readable Part-10 object or lacks one of the UIDs. */
export async function readObjectIds(file: string): Promise<ObjectIds | null> {
  try {
    const meta = readPart10Header(file);
    const enc = datasetEncoding(meta.transferSyntaxUid);
    const fh = await fs.open(file, 'r');
    try {
      const { size } = await fh.stat();
      let src = fileSource(fh.fd, size);
      let start = meta.datasetOffset;
      if (enc.deflated) {
        const head = Buffer.alloc(Math.min(size - start, 256 * 1024));
        await fh.read(head, 0, head.length, start);
        src = bufferSource(inflatePrefix(head));
        start = 0;
      }
      const { values } = walkDataset(src, start, { ...enc, wanted: [T_SOP_CLASS, T_SOP, T_PATIENT_ID, T_STUDY, T_SERIES], stopAfterTag: T_SERIES });
      const ids = {
        sopClassUid: rawString(values.get(T_SOP_CLASS)) ?? meta.mediaStorageSopClassUid ?? '',
        sopInstanceUid: rawString(values.get(T_SOP)) ?? meta.mediaStorageSopInstanceUid ?? '',
        patientId: rawString(values.get(T_PATIENT_ID)) ?? '',
        studyUid: rawString(values.get(T_STUDY)) ?? '',
        seriesUid: rawString(values.get(T_SERIES)) ?? '',
      };
      return ids.sopInstanceUid && ids.studyUid && ids.seriesUid ? ids : null;
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
}

