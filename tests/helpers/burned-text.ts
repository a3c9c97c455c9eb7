/**
 * Images with known text burned into the pixels at known places, for the OCR and redaction tests
 * and bench/ocr. Text is drawn by Chromium (a canvas: real font rasterisation, several families
 * and sizes) onto a body-like background; the canvas's own text metrics give each planted
 * string's box. The pixels become DICOM instances (ultrasound, secondary capture; greyscale 8/16
 * bits, RGB interleaved or planar, multi-frame) written by the tests' own DICOM writer.
 */
import { chromium, type Browser } from 'playwright';
import { buildPart10, type TElem, us } from '../unit/anonymize/helpers';

export interface PlantedText {
  text: string;
  kind: 'name' | 'date' | 'mrn';
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TextSpec {
  text: string;
  kind: PlantedText['kind'];
  x: number;
  /** Baseline. */
  y: number;
  font: string;
  size: number;
  /** CSS colour. */
  color: string;
}

export interface ImageSpec {
  columns: number;
  rows: number;
  texts: TextSpec[];
}

export interface RenderedImage {
  columns: number;
  rows: number;
  /** RGBA, row by row. */
  rgba: Buffer;
  planted: PlantedText[];
}

export const FONTS = ['DejaVu Sans', 'Liberation Serif', 'DejaVu Sans Mono', 'Liberation Sans', 'DejaVu Serif', 'Nimbus Sans'];

let browser: Browser | null = null;
async function theBrowser(): Promise<Browser> {
  browser ??= await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  return browser;
}
export async function closeRenderer(): Promise<void> {
  await browser?.close();
  browser = null;
}

/** Draws each spec in Chromium; returns the pixels and the planted strings' boxes (ink extents, rounded outwards). */
export async function renderImages(specs: ImageSpec[]): Promise<RenderedImage[]> {
  const page = await (await theBrowser()).newPage();
  try {
    await page.setContent('<html><body></body></html>');
    const out: RenderedImage[] = [];
    for (const spec of specs) {
      const res = await page.evaluate(async (s: ImageSpec) => {
        await document.fonts.ready;
        const c = document.createElement('canvas');
        c.width = s.columns;
        c.height = s.rows;
        const g = c.getContext('2d')!;
        g.fillStyle = '#000';
        g.fillRect(0, 0, s.columns, s.rows);
        // A body-like ellipse with a gradient, away from the edges where labels go.
        const grad = g.createRadialGradient(s.columns / 2, s.rows / 2, 4, s.columns / 2, s.rows / 2, Math.min(s.columns, s.rows) * 0.4);
        grad.addColorStop(0, '#777');
        grad.addColorStop(0.7, '#333');
        grad.addColorStop(1, '#111');
        g.fillStyle = grad;
        g.beginPath();
        g.ellipse(s.columns / 2, s.rows / 2 + 10, s.columns * 0.3, s.rows * 0.28, 0, 0, Math.PI * 2);
        g.fill();
        const planted = s.texts.map((t) => {
          g.font = `${t.size}px "${t.font}"`;
          g.fillStyle = t.color;
          g.textBaseline = 'alphabetic';
          g.fillText(t.text, t.x, t.y);
          const m = g.measureText(t.text);
          const x0 = Math.floor(t.x - m.actualBoundingBoxLeft);
          const y0 = Math.floor(t.y - m.actualBoundingBoxAscent);
          const x1 = Math.ceil(t.x + m.actualBoundingBoxRight);
          const y1 = Math.ceil(t.y + m.actualBoundingBoxDescent);
          return { text: t.text, kind: t.kind, x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
        });
        const data = g.getImageData(0, 0, s.columns, s.rows).data;
        let bin = '';
        for (let i = 0; i < data.length; i += 0x8000) bin += String.fromCharCode(...data.subarray(i, i + 0x8000));
        return { planted, rgba: btoa(bin) };
      }, spec);
      out.push({ columns: spec.columns, rows: spec.rows, rgba: Buffer.from(res.rgba, 'base64'), planted: res.planted as PlantedText[] });
    }
    return out;
  } finally {
    await page.close();
  }
}

const FAMILY = ['DOE', 'SMITH', 'GARCIA', 'MUELLER', 'OKAFOR', 'NGUYEN', 'JOHANSSON', 'KOWALSKI', 'ROSSI', 'TANAKA', 'BERNARD', 'OLSEN'];
const GIVEN = ['JANE', 'JOHN', 'MARIA', 'PETER', 'AMARA', 'LINH', 'ERIK', 'ANNA', 'LUCA', 'YUKI', 'CLAIRE', 'SVEN'];

/** A deterministic set of n images: a name, a date and an MRN-like number on each, fonts and sizes varying. */
export function textSpecs(n: number, seed = 1): ImageSpec[] {
  const sizes: [number, number][] = [
    [640, 480],
    [512, 512],
    [800, 600],
    [1024, 768],
  ];
  const out: ImageSpec[] = [];
  for (let i = 0; i < n; i++) {
    const k = i + seed;
    const [columns, rows] = sizes[k % sizes.length];
    const size = [14, 16, 18, 20, 24, 28, 32][k % 7];
    const font = FONTS[k % FONTS.length];
    const color = ['#fff', '#ffff66', '#e0e0e0', '#66ffcc'][k % 4];
    const name = k % 2 ? `${FAMILY[k % FAMILY.length]}^${GIVEN[(k * 5) % GIVEN.length]}` : `${FAMILY[k % FAMILY.length]}, ${GIVEN[(k * 7) % GIVEN.length]}`;
    const day = String(1 + ((k * 7) % 28)).padStart(2, '0');
    const month = String(1 + ((k * 5) % 12)).padStart(2, '0');
    const year = 1940 + ((k * 13) % 80);
    const date = [`${day}/${month}/${year}`, `${year}-${month}-${day}`, `${day}.${month}.${year}`][k % 3];
    const mrn = String(10_000_000 + ((k * 7_919_173) % 89_999_999));
    const margin = 8 + (k % 3) * 6;
    const line = Math.round(size * 1.5);
    const right = columns - margin - Math.round(size * 6.5);
    out.push({
      columns,
      rows,
      texts: [
        { text: name, kind: 'name', x: margin, y: margin + size, font, size, color },
        { text: date, kind: 'date', x: Math.max(margin, right), y: margin + size, font, size, color },
        { text: mrn, kind: 'mrn', x: margin, y: margin + size + line, font, size, color },
      ],
    });
  }
  return out;
}

export type PixelLayout = 'grey8' | 'grey16' | 'rgb' | 'rgb-planar';

/** The rendered RGBA as DICOM pixel data: greyscale (luma) 8 or 16 bits, or RGB interleaved / planar. */
export function toPixels(img: RenderedImage, layout: PixelLayout): Buffer {
  const n = img.columns * img.rows;
  const { rgba } = img;
  const luma = (i: number) => Math.round(0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]);
  if (layout === 'grey8') {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = luma(i);
    return b;
  }
  if (layout === 'grey16') {
    // 12 bits stored: 0..4095, with a little structure in the low bits so every byte matters.
    const b = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++) b.writeUInt16LE(luma(i) * 16 + (i % 16), 2 * i);
    return b;
  }
  const b = Buffer.alloc(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      if (layout === 'rgb') b[3 * i + c] = rgba[4 * i + c];
      else b[c * n + i] = rgba[4 * i + c];
    }
  }
  return b;
}

export const US_IMAGE = '1.2.840.10008.5.1.4.1.1.6.1';
export const US_MULTIFRAME = '1.2.840.10008.5.1.4.1.1.3.1';
export const SC_IMAGE = '1.2.840.10008.5.1.4.1.1.7';

let uidSeq = 0;
/** A fresh UID under the test root. */
export function testUid(): string {
  return `1.2.826.0.1.3680043.9.7781.${process.pid}.${Date.now() % 1e9}.${++uidSeq}`;
}

/**
 * A Part-10 instance around the pixels: an ultrasound (US Image / US Multi-frame) or a secondary
 * capture, with the attributes their IODs require, PHI in the header as a PACS would send it.
 */
export function burnedInstance(opts: {
  img: RenderedImage;
  layout: PixelLayout;
  kind: 'us' | 'sc';
  frames?: number;
  mrn?: string;
  name?: string;
  uids?: { study?: string; series?: string; sop?: string };
  manufacturer?: string;
  model?: string;
  /** Encapsulated fragments instead of native pixels (the caller encodes them), with this transfer syntax. */
  encapsulated?: { ts: string; fragments: Buffer[] };
}): { bytes: Buffer; sop: string; study: string; series: string } {
  const { img, layout } = opts;
  const frames = opts.frames ?? 1;
  const rgb = layout === 'rgb' || layout === 'rgb-planar';
  const bits = layout === 'grey16' ? 16 : 8;
  const one = toPixels(img, layout);
  const pixels = frames === 1 ? one : Buffer.concat(Array.from({ length: frames }, () => one));
  const study = opts.uids?.study ?? testUid();
  const series = opts.uids?.series ?? testUid();
  const sop = opts.uids?.sop ?? testUid();
  const sopClass = opts.kind === 'sc' ? SC_IMAGE : frames > 1 ? US_MULTIFRAME : US_IMAGE;
  const els: TElem[] = [
    { tag: 0x00080005, vr: 'CS', value: 'ISO_IR 100' },
    { tag: 0x00080008, vr: 'CS', value: opts.kind === 'sc' ? 'DERIVED\\SECONDARY' : 'ORIGINAL\\PRIMARY\\ABDOMINAL\\0001' },
    { tag: 0x00080016, vr: 'UI', value: sopClass },
    { tag: 0x00080018, vr: 'UI', value: sop },
    { tag: 0x00080020, vr: 'DA', value: '20210312' },
    { tag: 0x00080030, vr: 'TM', value: '103000' },
    { tag: 0x00080050, vr: 'SH', value: 'ACC7781' },
    { tag: 0x00080060, vr: 'CS', value: opts.kind === 'sc' ? 'OT' : 'US' },
    { tag: 0x00080070, vr: 'LO', value: opts.manufacturer ?? 'ACME Imaging' },
    { tag: 0x00080090, vr: 'PN', value: 'Referrer^Rita' },
    { tag: 0x00081090, vr: 'LO', value: opts.model ?? 'Model X' },
    { tag: 0x00100010, vr: 'PN', value: opts.name ?? 'Doe^Jane' },
    { tag: 0x00100020, vr: 'LO', value: opts.mrn ?? 'MRN7781' },
    { tag: 0x00100030, vr: 'DA', value: '19600302' },
    { tag: 0x00100040, vr: 'CS', value: 'F' },
    { tag: 0x0020000d, vr: 'UI', value: study },
    { tag: 0x0020000e, vr: 'UI', value: series },
    { tag: 0x00200010, vr: 'SH', value: 'S7781' },
    { tag: 0x00200011, vr: 'IS', value: '1' },
    { tag: 0x00200013, vr: 'IS', value: '1' },
    { tag: 0x00200020, vr: 'CS', value: '' },
    { tag: 0x00280002, vr: 'US', value: us(rgb ? 3 : 1) },
    { tag: 0x00280004, vr: 'CS', value: rgb ? 'RGB' : 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: us(img.rows) },
    { tag: 0x00280011, vr: 'US', value: us(img.columns) },
    { tag: 0x00280100, vr: 'US', value: us(bits) },
    { tag: 0x00280101, vr: 'US', value: us(bits === 16 ? 12 : 8) },
    { tag: 0x00280102, vr: 'US', value: us(bits === 16 ? 11 : 7) },
    { tag: 0x00280103, vr: 'US', value: us(0) },
    { tag: 0x7fe00010, vr: bits === 16 ? 'OW' : 'OB', value: pixels },
  ];
  if (rgb) els.push({ tag: 0x00280006, vr: 'US', value: us(layout === 'rgb-planar' ? 1 : 0) });
  if (opts.kind === 'sc') els.push({ tag: 0x00080064, vr: 'CS', value: 'WSD' });
  if (opts.kind === 'us') {
    els.push({ tag: 0x00282110, vr: 'CS', value: '00' });
  }
  if (frames > 1) {
    els.push({ tag: 0x00280008, vr: 'IS', value: String(frames) });
    els.push({ tag: 0x00280009, vr: 'AT', value: Buffer.from([0x18, 0x00, 0x63, 0x10]) });
    els.push({ tag: 0x00181063, vr: 'DS', value: '33.3' });
  }
  if (opts.encapsulated) {
    const px = els.find((e) => e.tag === 0x7fe00010)!;
    px.vr = 'OB';
    px.value = undefined;
    px.fragments = [Buffer.alloc(0), ...opts.encapsulated.fragments];
  }
  return { bytes: buildPart10(els, { ts: opts.encapsulated?.ts }), sop, study, series };
}

/** Whether two boxes overlap (any shared pixel). */
export function overlaps(a: { x: number; y: number; width: number; height: number }, b: { x: number; y: number; width: number; height: number }): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}
