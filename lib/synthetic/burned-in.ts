/**
 * Synthetic objects whose pixels carry PHI as burned-in text — the cases de-identification of
 * the header cannot fix and the pool's quarantine exists for (lib/anonymize/burned-in.ts):
 *
 * - an ultrasound study (Ultrasound Image Storage, modality US, no Burned In Annotation value,
 *   as many scanners write it) with the patient's name, MRN and date drawn in the top banner;
 * - a secondary-capture study (a scanned "dose report" screen: Secondary Capture Image Storage,
 *   Burned In Annotation YES) with name, MRN, birth date and accession drawn as lines of text.
 *
 * Deterministic like the rest of lib/synthetic (same seed, same bytes). The text is drawn with a
 * 5x7 bitmap font scaled up, white on dark, so an OCR engine or a person reads it. `phiStrings`
 * lists what the header and the pixels carry, for tests that scan output.
 */
import { writePart10, type DenaturalizedDataset, type DenaturalizedElement } from './dcmjs-writer';
import { SYNTHETIC_UID_ROOT, type SyntheticInstance } from './index';

const US_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.6.1';
const SC_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.7';
const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';

/** 5x7 glyphs, one row per number, bit 4 = leftmost column. */
const FONT: Record<string, number[]> = {
  A: [14, 17, 17, 31, 17, 17, 17], B: [30, 17, 17, 30, 17, 17, 30], C: [14, 17, 16, 16, 16, 17, 14],
  D: [30, 17, 17, 17, 17, 17, 30], E: [31, 16, 16, 30, 16, 16, 31], F: [31, 16, 16, 30, 16, 16, 16],
  G: [14, 17, 16, 23, 17, 17, 15], H: [17, 17, 17, 31, 17, 17, 17], I: [14, 4, 4, 4, 4, 4, 14],
  J: [7, 2, 2, 2, 2, 18, 12], K: [17, 18, 20, 24, 20, 18, 17], L: [16, 16, 16, 16, 16, 16, 31],
  M: [17, 27, 21, 21, 17, 17, 17], N: [17, 17, 25, 21, 19, 17, 17], O: [14, 17, 17, 17, 17, 17, 14],
  P: [30, 17, 17, 30, 16, 16, 16], Q: [14, 17, 17, 17, 21, 18, 13], R: [30, 17, 17, 30, 20, 18, 17],
  S: [15, 16, 16, 14, 1, 1, 30], T: [31, 4, 4, 4, 4, 4, 4], U: [17, 17, 17, 17, 17, 17, 14],
  V: [17, 17, 17, 17, 17, 10, 4], W: [17, 17, 17, 21, 21, 21, 10], X: [17, 17, 10, 4, 10, 17, 17],
  Y: [17, 17, 10, 4, 4, 4, 4], Z: [31, 1, 2, 4, 8, 16, 31],
  '0': [14, 17, 17, 17, 17, 17, 14], '1': [4, 12, 4, 4, 4, 4, 14], '2': [14, 17, 1, 2, 4, 8, 31],
  '3': [31, 2, 4, 2, 1, 17, 14], '4': [2, 6, 10, 18, 31, 2, 2], '5': [31, 16, 30, 1, 1, 17, 14],
  '6': [6, 8, 16, 30, 17, 17, 14], '7': [31, 1, 2, 4, 8, 8, 8], '8': [14, 17, 17, 14, 17, 17, 14],
  '9': [14, 17, 17, 15, 1, 2, 12],
  ' ': [0, 0, 0, 0, 0, 0, 0], '-': [0, 0, 0, 31, 0, 0, 0], ':': [0, 12, 12, 0, 12, 12, 0],
  '.': [0, 0, 0, 0, 0, 12, 12], '/': [0, 1, 2, 4, 8, 16, 0], ',': [0, 0, 0, 0, 12, 4, 8],
  '^': [4, 10, 17, 0, 0, 0, 0], '(': [2, 4, 8, 8, 8, 4, 2], ')': [8, 4, 2, 2, 2, 4, 8],
};

/** Width in pixels of `text` drawn at `scale` (6 columns per character: 5 + 1 space). */
export function textWidth(text: string, scale: number): number {
  return text.length * 6 * scale;
}

/**
 * Draws upper-cased `text` into an 8-bit single-channel image (row-major, `columns` wide) at
 * (x, y), each font pixel a `scale` x `scale` block of `value`. Characters without a glyph are
 * drawn as a blank; what falls outside the image is clipped.
 */
export function drawText(img: Uint8Array, columns: number, rows: number, text: string, x: number, y: number, scale: number, value = 255): void {
  let cx = x;
  for (const ch of text.toUpperCase()) {
    const glyph = FONT[ch] ?? FONT[' '];
    for (let gy = 0; gy < 7; gy++) {
      for (let gx = 0; gx < 5; gx++) {
        if (!((glyph[gy] >> (4 - gx)) & 1)) continue;
        for (let dy = 0; dy < scale; dy++) {
          const py = y + gy * scale + dy;
          if (py < 0 || py >= rows) continue;
          for (let dx = 0; dx < scale; dx++) {
            const px = cx + gx * scale + dx;
            if (px >= 0 && px < columns) img[py * columns + px] = value;
          }
        }
      }
    }
    cx += 6 * scale;
  }
}

const str = (vr: string, ...values: string[]): DenaturalizedElement => ({ vr, Value: values });
const num = (vr: string, ...values: number[]): DenaturalizedElement => ({ vr, Value: values });
const pn = (value: string): DenaturalizedElement => ({ vr: 'PN', Value: [{ Alphabetic: value }] });

export interface BurnedInCorpus {
  instances: SyntheticInstance[];
  patients: { patientId: string; patientName: string; birthDate: string; studies: { studyInstanceUid: string; accessionNumber: string; modality: string; description: string }[] }[];
  /** PHI in headers and pixels, exactly as written (the pixel text upper-cased). */
  phiStrings: string[];
  /** The lines drawn into the pixels, per SOP Instance UID. */
  burnedText: Record<string, string[]>;
}

interface Spec {
  kind: 'US' | 'SC';
  patientId: string;
  name: string;
  birthDate: string;
  sex: 'F' | 'M';
  accession: string;
  date: string;
  description: string;
  seriesDescription: string;
  bodyPart: string;
}

const uid = (...parts: number[]) => SYNTHETIC_UID_ROOT + parts.join('.');

function fmtDate(d: string): string {
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
}

function encode(s: Spec, seed: number, k: number, i: number, lines: string[]): SyntheticInstance {
  const us = s.kind === 'US';
  const rows = us ? 240 : 200;
  const columns = us ? 360 : 440;
  const img = new Uint8Array(rows * columns);
  if (us) {
    // A fan-shaped sector of speckle below the banner, like a B-mode image.
    let r = (seed * 2654435761 + i * 97) >>> 0;
    const cx = columns / 2;
    for (let y = 56; y < rows; y++) {
      for (let x = 0; x < columns; x++) {
        const a = Math.atan2(x - cx, y - 50);
        const d = Math.hypot(x - cx, y - 50);
        if (Math.abs(a) < 0.6 && d < rows - 50) {
          r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
          const lesion = Math.hypot(x - cx - 20 + i * 4, y - 140) < 22 ? 0.25 : 1;
          img[y * columns + x] = Math.round(((r >>> 24) * 0.5 + 40) * lesion);
        }
      }
    }
  } else {
    img.fill(24);
  }
  lines.forEach((line, n) => drawText(img, columns, rows, line, 6, 6 + n * 22, 2, 255));

  const sopClass = us ? US_IMAGE_STORAGE : SC_IMAGE_STORAGE;
  const studyUid = uid(15, seed, k);
  const seriesUid = uid(16, seed, k, 1);
  const sopUid = uid(18, seed, k, 1, i + 1);
  const meta: DenaturalizedDataset = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': str('UI', sopClass),
    '00020003': str('UI', sopUid),
    '00020010': str('UI', EXPLICIT_VR_LE),
    '00020012': str('UI', SYNTHETIC_UID_ROOT + '0.99'),
    '00020013': str('SH', 'SYNTH_MOD_1'),
  };
  const ds: DenaturalizedDataset = {
    '00080005': str('CS', 'ISO_IR 100'),
    '00080008': str('CS', us ? 'ORIGINAL' : 'DERIVED', us ? 'PRIMARY' : 'SECONDARY'),
    '00080016': str('UI', sopClass),
    '00080018': str('UI', sopUid),
    '00080020': str('DA', s.date),
    '00080030': str('TM', '101500'),
    '00080050': str('SH', s.accession),
    '00080060': str('CS', us ? 'US' : 'OT'),
    ...(us ? {} : { '00080064': str('CS', 'WSD') }),
    '00080070': str('LO', 'SYNTHETIC MEDICAL'),
    '00080080': str('LO', 'Riverside General Hospital'),
    '00081030': str('LO', s.description),
    '0008103E': str('LO', s.seriesDescription),
    '00100010': pn(s.name),
    '00100020': str('LO', s.patientId),
    '00100030': str('DA', s.birthDate),
    '00100040': str('CS', s.sex),
    '00180015': str('CS', s.bodyPart),
    '0020000D': str('UI', studyUid),
    '0020000E': str('UI', seriesUid),
    '00200010': str('SH', `ST${seed}${k}`),
    '00200011': num('IS', 1),
    '00200013': num('IS', i + 1),
    '00280002': num('US', 1),
    '00280004': str('CS', 'MONOCHROME2'),
    '00280010': num('US', rows),
    '00280011': num('US', columns),
    ...(us ? {} : { '00280301': str('CS', 'YES') }),
    '00280100': num('US', 8),
    '00280101': num('US', 8),
    '00280102': num('US', 7),
    '00280103': num('US', 0),
  };
  const head = writePart10(meta, ds);
  const pixelHeader = Buffer.alloc(12);
  pixelHeader.writeUInt16LE(0x7fe0, 0);
  pixelHeader.writeUInt16LE(0x0010, 2);
  pixelHeader.write('OB', 4, 'latin1');
  const padded = img.length % 2 ? img.length + 1 : img.length;
  pixelHeader.writeUInt32LE(padded, 8);
  const px = Buffer.alloc(padded);
  px.set(img);
  return {
    relPath: `${s.kind.toLowerCase()}-${k}/${String(i + 1).padStart(4, '0')}.dcm`,
    buffer: Buffer.concat([head, pixelHeader, px]),
    patientId: s.patientId,
    studyInstanceUid: studyUid,
    seriesInstanceUid: seriesUid,
    sopInstanceUid: sopUid,
    modality: us ? 'US' : 'OT',
  };
}

/** One ultrasound study (3 images) and one secondary-capture study (1 image), text burned in. */
export function generateBurnedInStudies(opts: { seed?: number } = {}): BurnedInCorpus {
  const seed = (opts.seed ?? 1) >>> 0;
  const specs: Spec[] = [
    {
      kind: 'US', patientId: `00${70000 + (seed % 9000)}`, name: 'OKONKWO^ADAEZE^N', birthDate: '19870614', sex: 'F',
      accession: `ACC2024${String(600000 + (seed % 300000))}`, date: '20240311', description: 'US ABDOMEN COMPLETE', seriesDescription: 'LIVER LONG', bodyPart: 'ABDOMEN',
    },
    {
      kind: 'SC', patientId: `00${80000 + (seed % 9000)}`, name: 'FAIRWEATHER^DESMOND^R', birthDate: '19520902', sex: 'M',
      accession: `ACC2024${String(700000 + (seed % 300000))}`, date: '20240502', description: 'CT DOSE REPORT', seriesDescription: 'DOSE INFO SCREEN', bodyPart: 'CHEST',
    },
  ];
  const out: BurnedInCorpus = { instances: [], patients: [], phiStrings: [], burnedText: {} };
  specs.forEach((s, k) => {
    const display = s.name.split('^').slice(0, 2).join(' ');
    const lines =
      s.kind === 'US'
        ? [`${display} ID ${s.patientId}`, `${fmtDate(s.date)} RIVERSIDE GENERAL`]
        : [`PATIENT: ${display}`, `MRN: ${s.patientId} DOB: ${fmtDate(s.birthDate)}`, `ACC: ${s.accession}`, 'CTDIVOL 12.4 MGY DLP 480 MGY-CM'];
    const n = s.kind === 'US' ? 3 : 1;
    const instances: SyntheticInstance[] = [];
    for (let i = 0; i < n; i++) {
      const inst = encode(s, seed, k + 1, i, lines);
      instances.push(inst);
      out.burnedText[inst.sopInstanceUid] = lines;
    }
    out.instances.push(...instances);
    out.patients.push({
      patientId: s.patientId,
      patientName: s.name,
      birthDate: s.birthDate,
      studies: [{ studyInstanceUid: instances[0].studyInstanceUid, accessionNumber: s.accession, modality: s.kind === 'US' ? 'US' : 'OT', description: s.description }],
    });
    out.phiStrings.push(s.name, s.patientId, s.birthDate, s.accession, ...lines);
  });
  return out;
}
