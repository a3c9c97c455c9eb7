/**
 * The DICOM JSON model (PS3.18 Annex F.2): `{ "GGGGEEEE": { "vr": "..", "Value": [...] } }`.
 * Small builders so QIDO, metadata and STOW answers are written the same way.
 */
export type PersonName = { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
export type JsonValue = string | number | PersonName | DicomJson | null;

export interface DicomAttribute {
  vr: string;
  Value?: JsonValue[];
  BulkDataURI?: string;
  InlineBinary?: string;
}

export type DicomJson = Record<string, DicomAttribute>;

export const MEDIA_DICOM_JSON = 'application/dicom+json';

/** Tags used by the index-backed answers (8 upper-case hex digits). */
export const TAGS = {
  SpecificCharacterSet: '00080005',
  SOPClassUID: '00080016',
  SOPInstanceUID: '00080018',
  StudyDate: '00080020',
  StudyTime: '00080030',
  AccessionNumber: '00080050',
  InstanceAvailability: '00080056',
  Modality: '00080060',
  ModalitiesInStudy: '00080061',
  ReferringPhysicianName: '00080090',
  StudyDescription: '00081030',
  SeriesDescription: '0008103E',
  RetrieveURL: '00081190',
  ReferencedSOPClassUID: '00081150',
  ReferencedSOPInstanceUID: '00081155',
  WarningReason: '00081196',
  FailureReason: '00081197',
  FailedSOPSequence: '00081198',
  ReferencedSOPSequence: '00081199',
  AvailableTransferSyntaxUID: '00083002',
  PatientName: '00100010',
  PatientID: '00100020',
  PatientBirthDate: '00100030',
  PatientSex: '00100040',
  BodyPartExamined: '00180015',
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  StudyID: '00200010',
  SeriesNumber: '00200011',
  InstanceNumber: '00200013',
  NumberOfStudyRelatedSeries: '00201206',
  NumberOfStudyRelatedInstances: '00201208',
  NumberOfSeriesRelatedInstances: '00201209',
  NumberOfFrames: '00280008',
  Rows: '00280010',
  Columns: '00280011',
  BitsAllocated: '00280100',
} as const;

export type TagKeyword = keyof typeof TAGS;

/** A string attribute; an empty value gives the attribute with no Value (type 2 "present, empty"). */
export function str(vr: string, value: string | null | undefined): DicomAttribute {
  if (value === null || value === undefined || value === '') return { vr };
  return { vr, Value: [value] };
}

export function strs(vr: string, values: string[]): DicomAttribute {
  const v = values.filter((x) => x !== '');
  return v.length ? { vr, Value: v } : { vr };
}

export function num(vr: string, value: number | null | undefined): DicomAttribute {
  if (value === null || value === undefined || !Number.isFinite(value)) return { vr };
  return { vr, Value: [value] };
}

export function pn(value: string | null | undefined): DicomAttribute {
  if (!value) return { vr: 'PN' };
  return { vr: 'PN', Value: value.split('\\').map((v) => personName(v)) };
}

export function personName(v: string): PersonName {
  const [alphabetic, ideographic, phonetic] = v.split('=');
  const out: PersonName = {};
  if (alphabetic) out.Alphabetic = alphabetic;
  if (ideographic) out.Ideographic = ideographic;
  if (phonetic) out.Phonetic = phonetic;
  return out;
}

export function seq(items: DicomJson[]): DicomAttribute {
  return items.length ? { vr: 'SQ', Value: items } : { vr: 'SQ' };
}

/** Attributes in tag order (readers do not need it; people reading answers do). */
export function sorted(obj: DicomJson): DicomJson {
  const out: DicomJson = {};
  for (const k of Object.keys(obj).sort()) out[k] = obj[k];
  return out;
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': `${MEDIA_DICOM_JSON}; charset=utf-8`, 'Cache-Control': 'private, no-store', ...headers },
  });
}
