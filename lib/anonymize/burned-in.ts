/**
 * Burned-in text and faces: which instances the engine holds in quarantine (docs/deidentification.md,
 * "Quarantine"). The one source of truth for the SOP classes and modalities; engine.ts asks
 * `burnedInReason`, tests check the lists against literal UIDs. Plain data: safe in browser code.
 */

export interface HeldSopClass {
  uid: string;
  name: string;
  why: string;
}

const ULTRASOUND = 'ultrasound carries burned-in patient details and measurements';
const SECONDARY = 'secondary captures are screenshots and scanned pages, often with burned-in text';
const VISIBLE_LIGHT = 'visible-light photographs and video can show a face, a label or a wristband';

/** SOP classes held whatever the other attributes say. */
export const HELD_SOP_CLASSES: readonly HeldSopClass[] = [
  // Ultrasound
  { uid: '1.2.840.10008.5.1.4.1.1.6', name: 'Ultrasound Image (retired)', why: ULTRASOUND },
  { uid: '1.2.840.10008.5.1.4.1.1.6.1', name: 'Ultrasound Image', why: ULTRASOUND },
  { uid: '1.2.840.10008.5.1.4.1.1.6.2', name: 'Enhanced US Volume', why: ULTRASOUND },
  { uid: '1.2.840.10008.5.1.4.1.1.3', name: 'Ultrasound Multi-frame Image (retired)', why: ULTRASOUND },
  { uid: '1.2.840.10008.5.1.4.1.1.3.1', name: 'Ultrasound Multi-frame Image', why: ULTRASOUND },
  // Secondary Capture
  { uid: '1.2.840.10008.5.1.4.1.1.7', name: 'Secondary Capture Image', why: SECONDARY },
  { uid: '1.2.840.10008.5.1.4.1.1.7.1', name: 'Multi-frame Single Bit Secondary Capture Image', why: SECONDARY },
  { uid: '1.2.840.10008.5.1.4.1.1.7.2', name: 'Multi-frame Grayscale Byte Secondary Capture Image', why: SECONDARY },
  { uid: '1.2.840.10008.5.1.4.1.1.7.3', name: 'Multi-frame Grayscale Word Secondary Capture Image', why: SECONDARY },
  { uid: '1.2.840.10008.5.1.4.1.1.7.4', name: 'Multi-frame True Color Secondary Capture Image', why: SECONDARY },
  // Visible Light (VL): endoscopy, microscopy, photography, video, ophthalmic photography
  { uid: '1.2.840.10008.5.1.4.1.1.77.1', name: 'VL Image (retired trial)', why: VISIBLE_LIGHT },
  { uid: '1.2.840.10008.5.1.4.1.1.77.2', name: 'VL Multi-frame Image (retired trial)', why: VISIBLE_LIGHT },
  { uid: '1.2.840.10008.5.1.4.1.1.77.1.1', name: 'VL Endoscopic Image', why: VISIBLE_LIGHT },
  { uid: '1.2.840.10008.5.1.4.1.1.77.1.1.1', name: 'Video Endoscopic Image', why: VISIBLE_LIGHT },
  { uid: '1.2.840.10008.5.1.4.1.1.77.1.2', name: 'VL Microscopic Image', why: VISIBLE_LIGHT },
  { uid: '1.2.840.10008.5.1.4.1.1.77.1.2.1', name: 'Video Microscopic Image', why: VISIBLE_LIGHT },
  { uid: '1.2.840.10008.5.1.4.1.1.77.1.3', name: 'VL Slide-Coordinates Microscopic Image', why: VISIBLE_LIGHT },
  { uid: '1.2.840.10008.5.1.4.1.1.77.1.4', name: 'VL Photographic Image', why: VISIBLE_LIGHT },
  { uid: '1.2.840.10008.5.1.4.1.1.77.1.4.1', name: 'Video Photographic Image', why: VISIBLE_LIGHT },
  { uid: '1.2.840.10008.5.1.4.1.1.77.1.5.1', name: 'Ophthalmic Photography 8 Bit Image', why: VISIBLE_LIGHT },
  { uid: '1.2.840.10008.5.1.4.1.1.77.1.5.2', name: 'Ophthalmic Photography 16 Bit Image', why: VISIBLE_LIGHT },
  { uid: '1.2.840.10008.5.1.4.1.1.77.1.5.5', name: 'Wide Field Ophthalmic Photography Stereographic Projection Image', why: VISIBLE_LIGHT },
  { uid: '1.2.840.10008.5.1.4.1.1.77.1.5.6', name: 'Wide Field Ophthalmic Photography 3D Coordinates Image', why: VISIBLE_LIGHT },
  { uid: '1.2.840.10008.5.1.4.1.1.77.1.6', name: 'VL Whole Slide Microscopy Image', why: 'whole slide images include the slide label, often printed with the patient name' },
  { uid: '1.2.840.10008.5.1.4.1.1.77.1.7', name: 'Dermoscopic Photography Image', why: VISIBLE_LIGHT },
];

/**
 * Families held by prefix: any other Visible Light class (present or future, e.g. ophthalmic
 * tomography .77.1.5.4) — the conservative side; an owner who has checked a source switches
 * quarantine off or releases.
 */
export const HELD_SOP_CLASS_PREFIXES: ReadonlyArray<{ prefix: string; name: string; why: string }> = [
  { prefix: '1.2.840.10008.5.1.4.1.1.77.1.', name: 'Visible Light image', why: VISIBLE_LIGHT },
  { prefix: '1.2.840.10008.5.1.4.1.1.104.', name: 'Encapsulated document', why: 'an encapsulated document (PDF, CDA, 3D model) cannot be inspected' },
];

/** Modalities held whatever the SOP class. */
export const HELD_MODALITIES: Readonly<Record<string, string>> = {
  US: 'ultrasound carries burned-in patient details',
  IVUS: 'intravascular ultrasound carries burned-in patient details',
  ES: 'endoscopy video and photographs can show labels and faces',
  XC: 'external camera photography can show a face',
  OP: 'ophthalmic photography is a photograph of the patient',
  SC: 'secondary capture may carry burned-in text',
  OT: 'modality OT (other) may carry burned-in text',
  DOC: 'scanned documents carry text',
};

const BY_UID: ReadonlyMap<string, HeldSopClass> = new Map(HELD_SOP_CLASSES.map((c) => [c.uid, c]));

export interface BurnedInFacts {
  burnedInAnnotation?: string;
  recognizableVisualFeatures?: string;
  modality?: string;
  sopClassUid: string;
  /** Image Type (0008,0008), backslash-separated. */
  imageType?: string;
}

/**
 * Why an instance may carry identifying pixels, or undefined. Checked in this order: the instance's
 * own statements (Burned In Annotation, Recognizable Visual Features YES), the modality, the SOP
 * class (whatever the modality says: an ultrasound object sent with Modality OT or a wrong one is
 * still held), then Image Type (screen saves, and SECONDARY: derived images such as dose screens and
 * reformats often carry burned-in text — broad on purpose, see the docs).
 */
export function burnedInReason(f: BurnedInFacts): string | undefined {
  if (f.burnedInAnnotation?.trim().toUpperCase() === 'YES') return 'BurnedInAnnotation (0028,0301) is YES';
  if (f.recognizableVisualFeatures?.trim().toUpperCase() === 'YES') return 'RecognizableVisualFeatures (0028,0302) is YES';
  const modality = f.modality?.trim().toUpperCase() ?? '';
  if (HELD_MODALITIES[modality]) return `Modality ${modality}: ${HELD_MODALITIES[modality]}`;
  const uid = f.sopClassUid.trim();
  const held = BY_UID.get(uid);
  if (held) return `SOP class ${held.name}: ${held.why}`;
  const family = HELD_SOP_CLASS_PREFIXES.find((p) => uid.startsWith(p.prefix));
  if (family) return `SOP class ${family.name} (${uid}): ${family.why}`;
  const imageType = (f.imageType ?? '').toUpperCase().split('\\').map((s) => s.trim());
  if (imageType.some((v) => v === 'SCREEN SAVE' || v === 'SCREENSHOT' || v === 'SCREEN SHOT')) return 'ImageType says screen save';
  if (imageType.includes('SECONDARY')) return 'ImageType says SECONDARY (derived images often carry burned-in text)';
  return undefined;
}
