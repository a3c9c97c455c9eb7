/**
 * Deterministic synthetic DICOM: hospital-looking CT and MR studies full of invented PHI.
 *
 * Used by tests (de-identification byte scans, DICOM networking), by the receive benchmark and
 * at runtime to load the demo PACS. The same options and seed always give byte-identical
 * files: every random choice comes from one seeded PRNG, no clock is read, and UIDs are
 * derived from the seed and the position of the object under a fixed synthetic root.
 *
 * `phiStrings` lists every PHI value written into the files, exactly as written (PN with its
 * ^ components, free text in full), so a de-identification test can scan output bytes for
 * each of them. Short generic values (sex, age, modality, dates of the study) are not PHI here.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Rng } from './rng';
import { writePart10, type DenaturalizedDataset, type DenaturalizedElement } from './dcmjs-writer';
import { pixelData } from './pixels';
import {
  CT_DESCRIPTIONS, CT_SERIES, FAMILY_NAMES, GIVEN_NAMES_F, GIVEN_NAMES_M, INSTITUTIONS, MIDDLE_INITIALS,
  MR_DESCRIPTIONS, MR_SERIES, NON_ASCII_PATIENTS, OPERATORS, PHYSICIANS, STREETS, TOWNS,
} from './pools';

export interface SyntheticInstance {
  relPath: string;
  buffer: Buffer;
  patientId: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  modality: string;
}

export interface CorpusOptions {
  seed?: number;
  patients?: number;
  /** Default: 2 studies for even-numbered patients, 1 for odd ones. */
  studiesPerPatient?: number;
  seriesPerStudy?: number;
  instancesPerSeries?: number;
  rows?: number;
  columns?: number;
}

export interface CorpusPatient {
  patientId: string;
  patientName: string;
  birthDate: string;
  studies: {
    studyInstanceUid: string;
    accessionNumber: string;
    studyDate: string;
    modality: string;
    description: string;
    numSeries: number;
    numInstances: number;
  }[];
}

export interface Corpus {
  patients: CorpusPatient[];
  instances: SyntheticInstance[];
  phiStrings: string[];
}

/** Root of every synthetic UID; the suffix encodes kind, seed and position. */
export const SYNTHETIC_UID_ROOT = '1.2.826.0.1.3680043.10.1078.';
export const SYNTHETIC_PRIVATE_CREATOR = 'ACME 1.1';
export const SIEMENS_PRIVATE_CREATOR = 'SIEMENS CSA HEADER';

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';
const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
const DETACHED_STUDY_MANAGEMENT = '1.2.840.10008.3.1.2.3.1';
/** What the (fictional) modality writes into (0002,0012/0013). */
const SYNTH_IMPLEMENTATION_UID = SYNTHETIC_UID_ROOT + '0.99';
const SYNTH_IMPLEMENTATION_VERSION = 'SYNTH_MOD_1';

type Modality = 'CT' | 'MR';

interface PatientSpec {
  index: number;
  patientId: string;
  /** DICOM PN form, e.g. HARTWELL^MARGARET^A */
  name: string;
  /** The name as a person would write it in free text. */
  natural: string;
  family: string;
  nonAscii: boolean;
  sex: 'F' | 'M';
  birthDate: string;
  otherPatientIds: string;
  address: string;
  phone: string;
  weightKg: number;
  heightM: number;
}

interface StudySpec {
  uid: string;
  priorUid: string;
  accession: string;
  studyId: string;
  date: string;
  time: string;
  modality: Modality;
  description: string;
  institution: { name: string; address: string };
  referring: string;
  performing: string;
  performingNatural: string;
  performingCode: string;
  performingPhone: string;
  operator: string;
  station: string;
  deviceSerial: string;
  requestedProcedureId: string;
  spsId: string;
  imageComments: string;
  history: string;
  privateNote: string;
}

interface SeriesSpec {
  uid: string;
  frameOfReferenceUid: string;
  number: number;
  description: string;
  time: string;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');
const titleCase = (s: string) => s.toLowerCase().replace(/(^|[\s-])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase());

function makePatient(rng: Rng, index: number, seed: number, used: Set<string>): PatientSpec {
  // Patient 1 (the second) always carries a non-ASCII name, whatever the seed.
  const nonAscii = index === 1;
  let family: string;
  let given: string;
  let sex: 'F' | 'M';
  let name: string;
  if (nonAscii) {
    const p = NON_ASCII_PATIENTS[(seed + index) % NON_ASCII_PATIENTS.length];
    family = p.family;
    given = p.given;
    sex = p.sex;
    name = `${family}^${given}`;
  } else {
    sex = rng.next() < 0.5 ? 'F' : 'M';
    family = rng.pick(FAMILY_NAMES);
    given = rng.pick(sex === 'F' ? GIVEN_NAMES_F : GIVEN_NAMES_M);
    name = `${family}^${given}^${rng.pick(MIDDLE_INITIALS)}`;
  }
  // MRNs with leading zeros: "0012345". Stored and matched as strings, never as numbers.
  let patientId: string;
  do patientId = '00' + rng.int(10000, 99999);
  while (used.has(patientId));
  used.add(patientId);
  const by = rng.int(1935, 2004);
  return {
    index,
    patientId,
    name,
    natural: nonAscii ? `${given} ${family}` : `${titleCase(given)} ${titleCase(family)}`,
    family,
    nonAscii,
    sex,
    birthDate: `${by}${pad(rng.int(1, 12), 2)}${pad(rng.int(1, 28), 2)}`,
    otherPatientIds: `HX${rng.digits(7)}`,
    address: `${rng.int(2, 998)} ${rng.pick(STREETS)}, ${rng.pick(TOWNS)}`,
    phone: `+1-555-01${rng.digits(2)}`,
    weightKg: rng.int(48, 110),
    heightM: rng.int(150, 195) / 100,
  };
}

function makeStudy(rng: Rng, p: PatientSpec, modality: Modality, uid: string, priorUid: string, minYear = 2016): StudySpec {
  const year = rng.int(minYear, 2024);
  const date = `${year}${pad(rng.int(1, 12), 2)}${pad(rng.int(1, 28), 2)}`;
  const time = `${pad(rng.int(7, 19), 2)}${pad(rng.int(0, 59), 2)}${pad(rng.int(0, 59), 2)}`;
  const institution = rng.pick(INSTITUTIONS);
  const referring = rng.pick(PHYSICIANS);
  let performing = rng.pick(PHYSICIANS);
  if (performing === referring) performing = PHYSICIANS[(PHYSICIANS.indexOf(referring) + 1) % PHYSICIANS.length];
  const [pf, pg] = performing.split('^');
  const refParts = referring.split('^');
  const accession = `ACC${year}${rng.digits(6)}`;
  const description = rng.pick(modality === 'CT' ? CT_DESCRIPTIONS : MR_DESCRIPTIONS);
  return {
    uid,
    priorUid,
    accession,
    studyId: `ST${rng.digits(6)}`,
    date,
    time,
    modality,
    description,
    institution,
    referring,
    performing,
    performingNatural: `Dr. ${titleCase(pg)} ${titleCase(pf)}`,
    performingCode: `EMP${rng.digits(6)}`,
    performingPhone: `+1-555-01${rng.digits(2)}`,
    operator: rng.pick(OPERATORS),
    station: `${modality}SCAN${rng.digits(4)}`,
    deviceSerial: `SN-${rng.digits(5)}-${modality}`,
    requestedProcedureId: `RP${rng.digits(7)}`,
    spsId: `SPS${rng.digits(7)}`,
    imageComments: `Follow-up for ${p.natural} requested by Dr. ${titleCase(refParts[1])} ${titleCase(refParts[0])}.`,
    history: `${p.natural}, MRN ${p.patientId}, reports pain since ${year - 1}; see accession ${accession}.`,
    privateNote: `PT ${p.patientId} ${p.family}`,
  };
}

// ---- element helpers (denaturalized dcmjs form) ----
const str = (vr: string, ...values: string[]): DenaturalizedElement => ({ vr, Value: values });
const num = (vr: string, ...values: number[]): DenaturalizedElement => ({ vr, Value: values });
const pn = (value: string): DenaturalizedElement => ({ vr: 'PN', Value: [{ Alphabetic: value }] });
const seq = (...items: DenaturalizedDataset[]): DenaturalizedElement => ({ vr: 'SQ', Value: items });
const bin = (bytes: Buffer): DenaturalizedElement => ({
  vr: 'OB',
  Value: [bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)],
});

/** A Siemens-CSA-like binary blob: deterministic, non-PHI, just there to be preserved. */
function csaBlob(instanceNumber: number): Buffer {
  const b = Buffer.alloc(64);
  b.write('SV10', 0, 'latin1');
  b.writeUInt32LE(0x01020304, 4);
  b.writeUInt32LE(3, 8);
  b.write('ImaCoilString', 16, 'latin1');
  b.writeUInt32LE(instanceNumber, 40);
  return b;
}

const round = (x: number, d: number) => Number(x.toFixed(d));

interface InstanceArgs {
  p: PatientSpec;
  st: StudySpec;
  se: SeriesSpec;
  sopInstanceUid: string;
  instanceNumber: number;
  /** Index of the slice in its series, 0-based. */
  slice: number;
  rows: number;
  columns: number;
}

/** Body Part Examined (PS3.16 CID 4031 code strings) for the synthetic study descriptions. */
export function bodyPartOf(description: string): string {
  const d = description.toUpperCase();
  if (d.includes('CHEST')) return 'CHEST';
  if (d.includes('ABDOMEN')) return 'ABDOMEN';
  if (d.includes('HEAD')) return 'HEAD';
  if (d.includes('BRAIN')) return 'BRAIN';
  if (d.includes('KNEE')) return 'KNEE';
  if (d.includes('SPINE')) return 'LSPINE';
  return 'WHOLEBODY';
}

function encodeInstance(a: InstanceArgs): Buffer {
  const { p, st, se } = a;
  const ct = st.modality === 'CT';
  const sopClassUid = ct ? CT_IMAGE_STORAGE : MR_IMAGE_STORAGE;
  const spacing = round((ct ? 350 : 240) / a.columns, 6);
  const thickness = ct ? 5 : 4;
  const z = round(-a.slice * thickness, 2);
  const contentTime = st.time.slice(0, 4) + pad((Number(st.time.slice(4)) + a.slice) % 60, 2);
  const ageYears = Number(st.date.slice(0, 4)) - Number(p.birthDate.slice(0, 4));

  const meta: DenaturalizedDataset = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': str('UI', sopClassUid),
    '00020003': str('UI', a.sopInstanceUid),
    '00020010': str('UI', EXPLICIT_VR_LE),
    '00020012': str('UI', SYNTH_IMPLEMENTATION_UID),
    '00020013': str('SH', SYNTH_IMPLEMENTATION_VERSION),
  };

  const ds: DenaturalizedDataset = {
    '00080005': str('CS', p.nonAscii ? 'ISO_IR 192' : 'ISO_IR 100'),
    '00080008': str('CS', 'ORIGINAL', 'PRIMARY', 'AXIAL'),
    '00080012': str('DA', st.date),
    '00080013': str('TM', contentTime),
    '00080016': str('UI', sopClassUid),
    '00080018': str('UI', a.sopInstanceUid),
    '00080020': str('DA', st.date),
    '00080021': str('DA', st.date),
    '00080022': str('DA', st.date),
    '00080023': str('DA', st.date),
    '0008002A': str('DT', `${st.date}${contentTime}.000000`),
    '00080030': str('TM', st.time),
    '00080031': str('TM', se.time),
    '00080032': str('TM', contentTime),
    '00080033': str('TM', contentTime),
    '00080050': str('SH', st.accession),
    '00080060': str('CS', st.modality),
    '00080070': str('LO', 'SYNTHETIC MEDICAL'),
    '00080080': str('LO', st.institution.name),
    '00080081': str('ST', st.institution.address),
    '00080090': pn(st.referring),
    '00081010': str('SH', st.station),
    '00081030': str('LO', st.description),
    '0008103E': str('LO', se.description),
    '00081050': pn(st.performing),
    // Two levels of nesting with a person's name at the bottom (CodeMeaning).
    '00081052': seq({
      '00080080': str('LO', st.institution.name),
      '00401101': seq({
        '00080100': str('SH', st.performingCode),
        '00080102': str('SH', 'L'),
        '00080104': str('LO', st.performingNatural),
      }),
      '00401103': str('LO', st.performingPhone),
    }),
    '00081070': pn(st.operator),
    '00081090': str('LO', ct ? 'Synth CT 64' : 'Synth MR 1.5T'),
    '00081110': seq({
      '00081150': str('UI', DETACHED_STUDY_MANAGEMENT),
      '00081155': str('UI', st.priorUid),
    }),
    // Private block 1: a made-up vendor that stores PHI in a private tag.
    '00090010': str('LO', SYNTHETIC_PRIVATE_CREATOR),
    '00091001': str('LO', st.privateNote),
    '00091002': str('DS', '1.5'),
    '00091003': str('SH', 'PROTO-7'),
    '00100010': pn(p.name),
    '00100020': str('LO', p.patientId),
    '00100030': str('DA', p.birthDate),
    '00100040': str('CS', p.sex),
    '00101000': str('LO', p.otherPatientIds),
    '00101010': str('AS', `${pad(ageYears, 3)}Y`),
    '00101020': num('DS', p.heightM),
    '00101030': num('DS', p.weightKg),
    '00101040': str('LO', p.address),
    '00102154': str('SH', p.phone),
    '001021B0': str('LT', st.history),
    '00180015': str('CS', bodyPartOf(st.description)),
    '00180050': num('DS', thickness),
    '00181000': str('LO', st.deviceSerial),
    '00181020': str('LO', 'synth-1.0'),
    '00185100': str('CS', 'HFS'),
    '0020000D': str('UI', st.uid),
    '0020000E': str('UI', se.uid),
    '00200010': str('SH', st.studyId),
    '00200011': num('IS', se.number),
    '00200013': num('IS', a.instanceNumber),
    '00200032': num('DS', round(-(a.columns * spacing) / 2, 4), round(-(a.rows * spacing) / 2, 4), z),
    '00200037': num('DS', 1, 0, 0, 0, 1, 0),
    '00200052': str('UI', se.frameOfReferenceUid),
    '00201041': num('DS', z),
    '00204000': str('LT', st.imageComments),
    '00280002': num('US', 1),
    '00280004': str('CS', 'MONOCHROME2'),
    '00280010': num('US', a.rows),
    '00280011': num('US', a.columns),
    '00280030': num('DS', spacing, spacing),
    '00280100': num('US', 16),
    '00280101': num('US', 12),
    '00280102': num('US', 11),
    '00280103': num('US', ct ? 1 : 0),
    '00281050': num('DS', ct ? 40 : 1800),
    '00281051': num('DS', ct ? 400 : 3600),
    // Private block 2: Siemens-like, binary CSA blob and a couple of strings (no PHI).
    '00290010': str('LO', SIEMENS_PRIVATE_CREATOR),
    '00290011': str('LO', 'SIEMENS MEDCOM HEADER2'),
    '00291008': str('CS', 'IMAGE NUM 4'),
    '00291009': str('LO', '20231010'),
    '00291010': bin(csaBlob(a.instanceNumber)),
    '00291160': str('LO', 'com'),
    '00321032': pn(st.referring),
    '00400275': seq({
      '00080050': str('SH', st.accession),
      '00321060': str('LO', st.description),
      '00400007': str('LO', st.description),
      '00400009': str('SH', st.spsId),
      '00401001': str('SH', st.requestedProcedureId),
    }),
  };
  if (ct) {
    ds['00180060'] = num('DS', 120);
    ds['00281052'] = num('DS', -1024);
    ds['00281053'] = num('DS', 1);
    ds['00281054'] = str('LO', 'HU');
  } else {
    ds['00180020'] = str('CS', 'SE');
    ds['00180023'] = str('CS', '2D');
    ds['00180080'] = num('DS', 500);
    ds['00180081'] = num('DS', 15);
    ds['00180087'] = num('DS', 1.5);
  }

  // dcmjs writes everything but the pixel data; the pixels are appended as the last element
  // (7FE0,0010 is the highest tag) straight from a shared buffer, which keeps 500 x 512 KB
  // CT slices fast and lets the pattern buffers be reused.
  const head = writePart10(meta, ds);
  const pixels = pixelData(st.modality, a.rows, a.columns, a.slice + se.number);
  const pixelHeader = Buffer.alloc(12);
  pixelHeader.writeUInt16LE(0x7fe0, 0);
  pixelHeader.writeUInt16LE(0x0010, 2);
  pixelHeader.write('OW', 4, 'latin1');
  pixelHeader.writeUInt32LE(pixels.length, 8);
  return Buffer.concat([head, pixelHeader, pixels]);
}

function collectPhi(out: Set<string>, p: PatientSpec, st: StudySpec) {
  for (const v of [
    p.name, p.patientId, p.otherPatientIds, p.birthDate, p.address, p.phone,
    st.accession, st.studyId, st.institution.name, st.institution.address, st.referring, st.performing,
    st.performingNatural, st.performingCode, st.performingPhone, st.operator, st.station, st.deviceSerial,
    st.requestedProcedureId, st.spsId, st.imageComments, st.history, st.privateNote,
  ]) {
    out.add(v);
  }
}

const uid = (...parts: number[]) => SYNTHETIC_UID_ROOT + parts.join('.');

/** A small corpus in memory. Same options, same bytes. */
export function generateCorpus(opts: CorpusOptions = {}): Corpus {
  const seed = (opts.seed ?? 1) >>> 0;
  const nPatients = opts.patients ?? 4;
  const nSeries = opts.seriesPerStudy ?? 2;
  const nInstances = opts.instancesPerSeries ?? 3;
  const rows = opts.rows ?? 64;
  const columns = opts.columns ?? 64;
  const rng = new Rng(seed);
  const usedIds = new Set<string>();
  const phi = new Set<string>();
  const patients: CorpusPatient[] = [];
  const instances: SyntheticInstance[] = [];
  let studyCounter = 0;

  for (let pi = 0; pi < nPatients; pi++) {
    const p = makePatient(rng, pi, seed, usedIds);
    const nStudies = opts.studiesPerPatient ?? (pi % 2 === 0 ? 2 : 1);
    const cp: CorpusPatient = { patientId: p.patientId, patientName: p.name, birthDate: p.birthDate, studies: [] };
    for (let si = 0; si < nStudies; si++) {
      const modality: Modality = studyCounter++ % 2 === 0 ? 'CT' : 'MR';
      const st = makeStudy(rng, p, modality, uid(1, seed, pi + 1, si + 1), uid(9, seed, pi + 1, si + 1));
      collectPhi(phi, p, st);
      const descriptions = modality === 'CT' ? CT_SERIES : MR_SERIES;
      for (let sei = 0; sei < nSeries; sei++) {
        const se: SeriesSpec = {
          uid: uid(2, seed, pi + 1, si + 1, sei + 1),
          frameOfReferenceUid: uid(4, seed, pi + 1, si + 1, sei + 1),
          number: sei + 1,
          description: descriptions[sei % descriptions.length],
          time: st.time,
        };
        for (let ii = 0; ii < nInstances; ii++) {
          const sopInstanceUid = uid(3, seed, pi + 1, si + 1, sei + 1, ii + 1);
          instances.push({
            relPath: `patient-${pad(pi + 1, 3)}/study-${si + 1}/series-${sei + 1}/${pad(ii + 1, 4)}.dcm`,
            buffer: encodeInstance({ p, st, se, sopInstanceUid, instanceNumber: ii + 1, slice: ii, rows, columns }),
            patientId: p.patientId,
            studyInstanceUid: st.uid,
            seriesInstanceUid: se.uid,
            sopInstanceUid,
            modality,
          });
        }
      }
      cp.studies.push({
        studyInstanceUid: st.uid,
        accessionNumber: st.accession,
        studyDate: st.date,
        modality,
        description: st.description,
        numSeries: nSeries,
        numInstances: nSeries * nInstances,
      });
    }
    patients.push(cp);
  }
  return { patients, instances, phiStrings: [...phi] };
}

/** Same as generateCorpus, written as Part-10 files under dir/relPath. */
export async function writeCorpus(dir: string, opts: CorpusOptions = {}): Promise<Corpus> {
  const corpus = generateCorpus(opts);
  const dirs = new Set(corpus.instances.map((i) => path.dirname(path.join(dir, i.relPath))));
  for (const d of dirs) await fs.mkdir(d, { recursive: true });
  for (const inst of corpus.instances) await fs.writeFile(path.join(dir, inst.relPath), inst.buffer);
  return corpus;
}

/**
 * One CT study of one series, streamed instance by instance (memory stays at one instance plus
 * the shared pixel patterns). Default 512 x 512, 16 bit.
 */
export function* generateCtStudy(opts: {
  instances: number;
  rows?: number;
  columns?: number;
  seed?: number;
  patientId?: string;
}): Generator<SyntheticInstance> {
  const seed = (opts.seed ?? 1) >>> 0;
  const rows = opts.rows ?? 512;
  const columns = opts.columns ?? 512;
  const rng = new Rng(seed ^ 0x5ca1ab1e);
  // Patient index 0 gives an ASCII identity; the caller may impose the MRN.
  const p = makePatient(rng, 0, seed, new Set());
  if (opts.patientId) p.patientId = opts.patientId;
  const st = makeStudy(rng, p, 'CT', uid(5, seed, 1), uid(9, seed, 0, 1));
  const se: SeriesSpec = {
    uid: uid(6, seed, 1, 1),
    frameOfReferenceUid: uid(7, seed, 1, 1),
    number: 1,
    description: CT_SERIES[0],
    time: st.time,
  };
  for (let i = 0; i < opts.instances; i++) {
    const sopInstanceUid = uid(8, seed, 1, 1, i + 1);
    yield {
      relPath: `series-1/${pad(i + 1, 4)}.dcm`,
      buffer: encodeInstance({ p, st, se, sopInstanceUid, instanceNumber: i + 1, slice: i, rows, columns }),
      patientId: p.patientId,
      studyInstanceUid: st.uid,
      seriesInstanceUid: se.uid,
      sopInstanceUid,
      modality: 'CT',
    };
  }
}
