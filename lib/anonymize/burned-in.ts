/**
 * Burned-in text and faces: which instances the engine holds in quarantine, as data
 * (docs/deidentification.md, "Quarantine"). QUARANTINE_RULES is the one table: each entry has a
 * stable reason code, the text the owner reads, and what it matches. engine.ts asks
 * `quarantineVerdict`; the stored reason of a quarantined instance is its codes, shown to the owner
 * through `describeQuarantineReason`. Tests check the table against literal UIDs.
 * Plain data: safe in browser code.
 */

/** A named SOP class (PS3.4 Annex B / PS3.6 Table A-1). */
export interface NamedSopClass {
  uid: string;
  name: string;
}

/**
 * One way an entry matches. Every field given must hold (AND); lists match when the instance has
 * any of their values (ImageType: any of its values). `burnedInAnnotation: 'absent'` means no value.
 */
export interface QuarantineMatch {
  sopClasses?: readonly string[];
  sopClassPrefixes?: readonly string[];
  modalities?: readonly string[];
  imageTypes?: readonly string[];
  transferSyntaxes?: readonly string[];
  burnedInAnnotation?: 'YES' | 'absent';
  recognizableVisualFeatures?: 'YES';
}

export interface QuarantineRule {
  code: QuarantineReasonCode;
  /** What the owner reads in the quarantine view: why this carries risk. */
  text: string;
  /** The entry applies when any of these matches... */
  anyOf: readonly QuarantineMatch[];
  /** ...and none of these does. */
  except?: readonly QuarantineMatch[];
}

/** The stable reason codes, stored with each quarantined instance. Never rename one: add. */
export const QUARANTINE_REASON_CODES = [
  'burned-in-annotation',
  'recognizable-features',
  'burned-in-annotation-absent',
  'ultrasound',
  'secondary-capture',
  'screen-save',
  'dose-screen',
  'visible-light',
  'video',
  'document',
] as const;
export type QuarantineReasonCode = (typeof QUARANTINE_REASON_CODES)[number];
/** Held by the pool's own additions (QuarantineOptions.hold*), not by the table. */
export const POOL_RULE_CODE = 'pool-rule';
export const POOL_RULE_TEXT = "held by this pool's own rules (an extra SOP class, modality or image type to hold)";
/** Held so OCR reads it first (QuarantineOptions.ocrSopClasses / ocrModalities). */
export const OCR_SCAN_CODE = 'ocr-scan';
export const OCR_SCAN_TEXT = "held for OCR by this pool's rules (every image of this class or modality is read for burned-in text first)";

const P = '1.2.840.10008.5.1.4.1.1.';
const sop = (suffix: string, name: string): NamedSopClass => ({ uid: P + suffix, name });

export const ULTRASOUND_CLASSES: readonly NamedSopClass[] = [
  sop('6', 'Ultrasound Image (retired)'),
  sop('6.1', 'Ultrasound Image'),
  sop('6.2', 'Enhanced US Volume'),
  sop('3', 'Ultrasound Multi-frame Image (retired)'),
  sop('3.1', 'Ultrasound Multi-frame Image'),
];
export const SECONDARY_CAPTURE_CLASSES: readonly NamedSopClass[] = [
  sop('7', 'Secondary Capture Image'),
  sop('7.1', 'Multi-frame Single Bit Secondary Capture Image'),
  sop('7.2', 'Multi-frame Grayscale Byte Secondary Capture Image'),
  sop('7.3', 'Multi-frame Grayscale Word Secondary Capture Image'),
  sop('7.4', 'Multi-frame True Color Secondary Capture Image'),
];
export const VIDEO_CLASSES: readonly NamedSopClass[] = [
  sop('77.1.1.1', 'Video Endoscopic Image'),
  sop('77.1.2.1', 'Video Microscopic Image'),
  sop('77.1.4.1', 'Video Photographic Image'),
];
export const VISIBLE_LIGHT_CLASSES: readonly NamedSopClass[] = [
  sop('77.1', 'VL Image (retired trial)'),
  sop('77.2', 'VL Multi-frame Image (retired trial)'),
  sop('77.1.1', 'VL Endoscopic Image'),
  sop('77.1.2', 'VL Microscopic Image'),
  sop('77.1.3', 'VL Slide-Coordinates Microscopic Image'),
  sop('77.1.4', 'VL Photographic Image'),
  sop('77.1.5.1', 'Ophthalmic Photography 8 Bit Image'),
  sop('77.1.5.2', 'Ophthalmic Photography 16 Bit Image'),
  sop('77.1.5.5', 'Wide Field Ophthalmic Photography Stereographic Projection Image'),
  sop('77.1.5.6', 'Wide Field Ophthalmic Photography 3D Coordinates Image'),
  sop('77.1.6', 'VL Whole Slide Microscopy Image'),
  sop('77.1.7', 'Dermoscopic Photography Image'),
  ...VIDEO_CLASSES,
];
export const DOCUMENT_CLASSES: readonly NamedSopClass[] = [
  sop('104.1', 'Encapsulated PDF'),
  sop('104.2', 'Encapsulated CDA'),
  sop('104.3', 'Encapsulated STL'),
  sop('104.4', 'Encapsulated OBJ'),
  sop('104.5', 'Encapsulated MTL'),
];
/**
 * Projection radiography, where Burned In Annotation must be said: the DX, MG and IO classes make it
 * Type 1 (DX Image Module), and CR, XA and RF are where printed labels (CR readers, older
 * angiography and fluoroscopy systems) are burned into the image. Silence there is held.
 */
export const ANNOTATION_EXPECTED_CLASSES: readonly NamedSopClass[] = [
  sop('1', 'Computed Radiography Image'),
  sop('1.1', 'Digital X-Ray Image (presentation)'),
  sop('1.1.1', 'Digital X-Ray Image (processing)'),
  sop('1.2', 'Digital Mammography X-Ray Image (presentation)'),
  sop('1.2.1', 'Digital Mammography X-Ray Image (processing)'),
  sop('1.3', 'Digital Intra-Oral X-Ray Image (presentation)'),
  sop('1.3.1', 'Digital Intra-Oral X-Ray Image (processing)'),
  sop('12.1', 'X-Ray Angiographic Image'),
  sop('12.1.1', 'Enhanced XA Image'),
  sop('12.2', 'X-Ray Radiofluoroscopic Image'),
  sop('12.2.1', 'Enhanced XRF Image'),
];
/** Classes whose derived images are computed by the modality from its own acquisition. */
export const COMPUTED_CLASSES: readonly NamedSopClass[] = [
  sop('2', 'CT Image'),
  sop('2.1', 'Enhanced CT Image'),
  sop('2.2', 'Legacy Converted Enhanced CT Image'),
  sop('4', 'MR Image'),
  sop('4.1', 'Enhanced MR Image'),
  sop('4.3', 'Enhanced MR Color Image'),
  sop('4.4', 'Legacy Converted Enhanced MR Image'),
  sop('128', 'Positron Emission Tomography Image'),
  sop('128.1', 'Legacy Converted Enhanced PET Image'),
  sop('130', 'Enhanced PET Image'),
  sop('12.1', 'X-Ray Angiographic Image'),
  sop('12.1.1', 'Enhanced XA Image'),
  sop('12.2', 'X-Ray Radiofluoroscopic Image'),
  sop('12.2.1', 'Enhanced XRF Image'),
  sop('13.1.1', 'X-Ray 3D Angiographic Image'),
];
/** Image Type values (0008,0008) naming a derivation the modality computed from its own pixels. */
export const COMPUTED_DERIVATIONS = [
  'REFORMATTED', 'MPR', 'CURVED MPR', 'MIP', 'MINIP', 'MINIMUM IP', 'MAXIMUM IP', 'AVERAGE IP',
  'PROJECTION IMAGE', 'SUBTRACTION', 'VOLUME', 'THICK SLAB', 'RECON', 'RESAMPLED',
] as const;
/** Transfer syntaxes that carry video (MPEG-2, MPEG-4 AVC/H.264, HEVC/H.265). */
export const VIDEO_TRANSFER_SYNTAXES = [
  '1.2.840.10008.1.2.4.100', '1.2.840.10008.1.2.4.100.1', '1.2.840.10008.1.2.4.101', '1.2.840.10008.1.2.4.101.1',
  '1.2.840.10008.1.2.4.102', '1.2.840.10008.1.2.4.102.1', '1.2.840.10008.1.2.4.103', '1.2.840.10008.1.2.4.103.1',
  '1.2.840.10008.1.2.4.104', '1.2.840.10008.1.2.4.104.1', '1.2.840.10008.1.2.4.105', '1.2.840.10008.1.2.4.105.1',
  '1.2.840.10008.1.2.4.106', '1.2.840.10008.1.2.4.106.1', '1.2.840.10008.1.2.4.107', '1.2.840.10008.1.2.4.108',
] as const;
/**
 * Image Type values of dose screens stored in image classes: Philips CT writes DOSE_INFO, Siemens'
 * patient protocol / dose report images carry CSA REPORT. (GE's dose report is a Secondary Capture
 * with SCREEN SAVE, held by those entries.) Series Description ("Dose Report") is not used: free
 * text, localised, and not what the pixels are.
 */
export const DOSE_SCREEN_IMAGE_TYPES = ['DOSE_INFO', 'DOSE INFO', 'DOSE_REPORT', 'DOSE REPORT', 'CSA REPORT'] as const;

const uids = (list: readonly NamedSopClass[]) => list.map((c) => c.uid);

/** The table. Order is the order the owner reads the reasons in. */
export const QUARANTINE_RULES: readonly QuarantineRule[] = [
  {
    code: 'burned-in-annotation',
    text: 'Burned In Annotation (0028,0301) is YES: the sender says the pixels show identifying text',
    anyOf: [{ burnedInAnnotation: 'YES' }],
  },
  {
    code: 'recognizable-features',
    text: 'Recognizable Visual Features (0028,0302) is YES: the image may show a face',
    anyOf: [{ recognizableVisualFeatures: 'YES' }],
  },
  {
    code: 'burned-in-annotation-absent',
    text: 'Burned In Annotation is not stated for a projection X-ray class where labels are burned in (CR, DX, MG, IO, XA, RF)',
    anyOf: [{ burnedInAnnotation: 'absent', sopClasses: uids(ANNOTATION_EXPECTED_CLASSES) }],
    // An XA/RF subtraction or projection computed by the modality passes (pixels it computed).
    except: [{ sopClasses: uids(COMPUTED_CLASSES), imageTypes: COMPUTED_DERIVATIONS }],
  },
  {
    code: 'ultrasound',
    text: 'ultrasound: the scanner burns patient details and measurements into the image',
    anyOf: [{ sopClasses: uids(ULTRASOUND_CLASSES) }, { modalities: ['US', 'IVUS'] }],
  },
  {
    code: 'secondary-capture',
    text: 'secondary capture: screenshots and scanned pages, often with burned-in text',
    anyOf: [{ sopClasses: uids(SECONDARY_CAPTURE_CLASSES) }, { modalities: ['SC', 'OT'] }],
  },
  {
    code: 'screen-save',
    text: 'Image Type says screen save: a capture of a screen, with whatever text it showed',
    anyOf: [{ imageTypes: ['SCREEN SAVE', 'SCREENSHOT', 'SCREEN SHOT'] }],
  },
  {
    code: 'dose-screen',
    text: 'a dose report or protocol page rendered as an image (Image Type DOSE_INFO / CSA REPORT): it shows the patient header',
    anyOf: [{ imageTypes: DOSE_SCREEN_IMAGE_TYPES }],
  },
  {
    code: 'visible-light',
    text: 'visible-light photograph or microscopy: can show a face, a label, a wristband or a slide label',
    anyOf: [
      { sopClasses: uids(VISIBLE_LIGHT_CLASSES) },
      // Any other Visible Light class, present or future (e.g. ophthalmic tomography .77.1.5.4).
      { sopClassPrefixes: [`${P}77.1.`] },
      { modalities: ['ES', 'XC', 'OP'] },
    ],
  },
  {
    code: 'video',
    text: 'video: frames from a camera or a screen grabber, often with an overlay of patient details',
    anyOf: [{ sopClasses: uids(VIDEO_CLASSES) }, { transferSyntaxes: VIDEO_TRANSFER_SYNTAXES }],
  },
  {
    code: 'document',
    text: 'an encapsulated or scanned document (PDF, CDA, STL, OBJ): its content cannot be inspected here',
    anyOf: [{ sopClasses: uids(DOCUMENT_CLASSES) }, { sopClassPrefixes: [`${P}104.`] }, { modalities: ['DOC'] }],
  },
];

/** Every SOP class the table names, for the UI's class names (sop-classes.ts). */
export const HELD_SOP_CLASSES: readonly NamedSopClass[] = [
  ...ULTRASOUND_CLASSES,
  ...SECONDARY_CAPTURE_CLASSES,
  ...VISIBLE_LIGHT_CLASSES,
  ...DOCUMENT_CLASSES,
  ...ANNOTATION_EXPECTED_CLASSES,
];

/** The pool's own narrowing and widening (RuleSet.quarantine, validated in rules-schema.ts). */
// A type, not an interface: rule sets are stored as Prisma JSON, which needs an implicit index signature.
export type QuarantineOptions = {
  /** Reason codes not held in this pool. */
  ignore?: string[];
  /** Held in addition to the table (reason POOL_RULE_CODE). */
  holdSopClasses?: string[];
  holdModalities?: string[];
  holdImageTypes?: string[];
  /** Every image of these SOP classes / modalities is held and read by OCR (reason OCR_SCAN_CODE). */
  ocrSopClasses?: string[];
  ocrModalities?: string[];
  /** An instance in which OCR found no text is released without the owner (off by default). */
  releaseIfNoText?: boolean;
  /** Redaction may decode and re-encode JPEG baseline (a second lossy generation); off = refused. */
  allowLossyRedaction?: boolean;
};

export interface BurnedInFacts {
  burnedInAnnotation?: string;
  recognizableVisualFeatures?: string;
  modality?: string;
  sopClassUid: string;
  /** Image Type (0008,0008), backslash-separated. */
  imageType?: string;
  transferSyntaxUid?: string;
}

interface Normalized {
  bia: string;
  rvf: string;
  modality: string;
  sopClassUid: string;
  imageType: string[];
  transferSyntaxUid: string;
}

function normalize(f: BurnedInFacts): Normalized {
  return {
    bia: f.burnedInAnnotation?.trim().toUpperCase() ?? '',
    rvf: f.recognizableVisualFeatures?.trim().toUpperCase() ?? '',
    modality: f.modality?.trim().toUpperCase() ?? '',
    sopClassUid: f.sopClassUid.trim(),
    imageType: (f.imageType ?? '').toUpperCase().split('\\').map((s) => s.trim()).filter(Boolean),
    transferSyntaxUid: f.transferSyntaxUid?.trim() ?? '',
  };
}

function matches(m: QuarantineMatch, n: Normalized): boolean {
  if (m.burnedInAnnotation === 'YES' && n.bia !== 'YES') return false;
  if (m.burnedInAnnotation === 'absent' && n.bia !== '') return false;
  if (m.recognizableVisualFeatures === 'YES' && n.rvf !== 'YES') return false;
  if (m.sopClasses && !m.sopClasses.includes(n.sopClassUid)) return false;
  if (m.sopClassPrefixes && !m.sopClassPrefixes.some((p) => n.sopClassUid.startsWith(p))) return false;
  if (m.modalities && !m.modalities.includes(n.modality)) return false;
  if (m.imageTypes && !n.imageType.some((v) => m.imageTypes!.includes(v))) return false;
  if (m.transferSyntaxes && !m.transferSyntaxes.includes(n.transferSyntaxUid)) return false;
  return true;
}

export interface QuarantineVerdict {
  /** Table codes (and POOL_RULE_CODE), in table order: what is stored with the instance. */
  codes: string[];
  /** The owner's text for these codes. */
  text: string;
}

const TEXT: ReadonlyMap<string, string> = new Map([
  ...QUARANTINE_RULES.map((r) => [r.code, r.text] as const),
  [POOL_RULE_CODE, POOL_RULE_TEXT],
  [OCR_SCAN_CODE, OCR_SCAN_TEXT],
]);

/** The table's entries (minus the pool's ignored codes) and the pool's additions that hold this instance. */
export function quarantineCodes(f: BurnedInFacts, options: QuarantineOptions = {}): string[] {
  const n = normalize(f);
  const ignore = new Set(options.ignore ?? []);
  const codes: string[] = QUARANTINE_RULES.filter(
    (r) => !ignore.has(r.code) && r.anyOf.some((m) => matches(m, n)) && !(r.except ?? []).some((m) => matches(m, n)),
  ).map((r) => r.code);
  const upper = (list?: readonly string[]) => (list ?? []).map((s) => s.trim().toUpperCase());
  const extra =
    (options.holdSopClasses ?? []).some((u) => u.trim() === n.sopClassUid) ||
    upper(options.holdModalities).includes(n.modality) ||
    upper(options.holdImageTypes).some((v) => n.imageType.includes(v));
  if (extra) codes.push(POOL_RULE_CODE);
  const ocr = (options.ocrSopClasses ?? []).some((u) => u.trim() === n.sopClassUid) || upper(options.ocrModalities).includes(n.modality);
  if (ocr && !codes.length) codes.push(OCR_SCAN_CODE);
  return codes;
}

/** Why an instance may carry identifying pixels (codes and text), or undefined when it may enter the pool. */
export function quarantineVerdict(f: BurnedInFacts, options?: QuarantineOptions): QuarantineVerdict | undefined {
  const codes = quarantineCodes(f, options);
  return codes.length ? { codes, text: describeQuarantineReason(codes.join(' ')).text } : undefined;
}

/**
 * The owner's reading of a stored reason: codes separated by spaces give their texts; a reason
 * stored before the codes existed (free text) is shown as it is, with no codes.
 */
export function describeQuarantineReason(stored: string): { codes: string[]; text: string } {
  const codes = stored.trim().split(/\s+/).filter(Boolean);
  if (!codes.length || !codes.every((c) => TEXT.has(c))) return { codes: [], text: stored };
  return { codes, text: codes.map((c) => TEXT.get(c)!).join('; ') };
}

export interface QuarantineSummary {
  on: boolean;
  /** The table's reasons this pool holds for. */
  held: { code: string; text: string }[];
  /** The table's reasons this pool's rules switched off. */
  ignored: { code: string; text: string }[];
  /** The pool's additions, e.g. "SOP class 1.2.3", "Modality CR", "Image Type LOCALIZER". */
  added: string[];
}

/** What a rule set holds, for the rules summary (settings page) and the audit. */
export function quarantineSummary(rules: { quarantineBurnedIn: boolean; quarantine?: QuarantineOptions }): QuarantineSummary {
  const ignore = new Set(rules.quarantine?.ignore ?? []);
  const entry = (r: QuarantineRule) => ({ code: r.code, text: r.text });
  return {
    on: rules.quarantineBurnedIn,
    held: QUARANTINE_RULES.filter((r) => !ignore.has(r.code)).map(entry),
    ignored: QUARANTINE_RULES.filter((r) => ignore.has(r.code)).map(entry),
    added: [
      ...(rules.quarantine?.holdSopClasses ?? []).map((u) => `SOP class ${u}`),
      ...(rules.quarantine?.holdModalities ?? []).map((m) => `Modality ${m}`),
      ...(rules.quarantine?.holdImageTypes ?? []).map((v) => `Image Type ${v}`),
      ...(rules.quarantine?.ocrSopClasses ?? []).map((u) => `OCR first: SOP class ${u}`),
      ...(rules.quarantine?.ocrModalities ?? []).map((m) => `OCR first: Modality ${m}`),
      ...(rules.quarantine?.releaseIfNoText ? ['Released without the owner when OCR finds no text'] : []),
      ...(rules.quarantine?.allowLossyRedaction ? ['Redaction may re-encode JPEG baseline (lossy)'] : []),
    ],
  };
}

/** The options as a rule set stores them: undefined when they change nothing (older rule sets stay byte-identical). */
export function compactQuarantineOptions(o: QuarantineOptions | undefined): QuarantineOptions | undefined {
  if (!o) return undefined;
  const out: QuarantineOptions = {};
  if (o.ignore?.length) out.ignore = o.ignore;
  if (o.holdSopClasses?.length) out.holdSopClasses = o.holdSopClasses;
  if (o.holdModalities?.length) out.holdModalities = o.holdModalities;
  if (o.holdImageTypes?.length) out.holdImageTypes = o.holdImageTypes;
  if (o.ocrSopClasses?.length) out.ocrSopClasses = o.ocrSopClasses;
  if (o.ocrModalities?.length) out.ocrModalities = o.ocrModalities;
  if (o.releaseIfNoText) out.releaseIfNoText = true;
  if (o.allowLossyRedaction) out.allowLossyRedaction = true;
  return Object.keys(out).length ? out : undefined;
}
