/**
 * The synthetic ultrasound and secondary-capture studies with burned-in text: valid Part-10
 * files of the right SOP classes, held by the quarantine table, deterministic, and with text in
 * the pixels that Tesseract (when installed, as on CI) reads back (the patient's name, a date).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-ignore -- dcmjs ships no type declarations.
import dcmjs from 'dcmjs';
import { quarantineVerdict } from '@/lib/anonymize/burned-in';
import { drawText, generateBurnedInStudies, textWidth } from '@/lib/synthetic/burned-in';

type Dict = Record<string, { vr: string; Value?: unknown[] }>;
const read = (buf: Buffer): Dict =>
  (dcmjs as { data: { DicomMessage: { readFile(ab: ArrayBuffer): { dict: Dict } } } }).data.DicomMessage.readFile(
    buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer,
  ).dict;
const v = (d: Dict, tag: string) => (d[tag]?.Value?.[0] as string | number | undefined) ?? undefined;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-burned-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const hasTesseract = spawnSync('tesseract', ['--version']).status === 0;

describe('drawText', () => {
  it('draws the 5x7 glyphs scaled, and clips at the edges', () => {
    const cols = 20;
    const rows = 10;
    const img = new Uint8Array(cols * rows);
    drawText(img, cols, rows, 'I', 0, 0, 1);
    // "I": a bar of 3 on top and bottom, one column in the middle.
    expect([...img.slice(0, 5)]).toEqual([0, 255, 255, 255, 0]);
    expect([...img.slice(cols, cols + 5)]).toEqual([0, 0, 255, 0, 0]);
    expect(textWidth('AB', 2)).toBe(24);
    const clipped = new Uint8Array(cols * rows);
    expect(() => drawText(clipped, cols, rows, 'WWWWWW', 15, 8, 3)).not.toThrow();
    expect(clipped.some((x) => x === 255)).toBe(true);
  });
});

describe('generateBurnedInStudies', () => {
  const c = generateBurnedInStudies({ seed: 7 });

  it('makes an ultrasound and a secondary-capture study that the quarantine holds', () => {
    expect(c.patients.map((p) => p.studies[0].modality)).toEqual(['US', 'OT']);
    const kinds = new Map<string, string[]>();
    for (const inst of c.instances) {
      const d = read(inst.buffer);
      const sopClass = String(v(d, '00080016'));
      const verdict = quarantineVerdict({
        sopClassUid: sopClass,
        modality: String(v(d, '00080060')),
        burnedInAnnotation: v(d, '00280301') as string | undefined,
        imageType: ((d['00080008']?.Value ?? []) as string[]).join('\\'),
      });
      expect(verdict, sopClass).toBeDefined();
      kinds.set(sopClass, [...(kinds.get(sopClass) ?? []), ...verdict!.codes]);
      expect(v(d, '00100020')).toBe(inst.patientId);
      expect(v(d, '00081030')).toBeTruthy();
      expect(v(d, '0008103E')).toBeTruthy();
    }
    expect(kinds.get('1.2.840.10008.5.1.4.1.1.6.1')).toContain('ultrasound');
    expect(kinds.get('1.2.840.10008.5.1.4.1.1.7')).toContain('secondary-capture');
  });

  it('is deterministic', () => {
    const again = generateBurnedInStudies({ seed: 7 });
    expect(again.instances.map((i) => i.buffer.toString('base64'))).toEqual(c.instances.map((i) => i.buffer.toString('base64')));
    expect(generateBurnedInStudies({ seed: 8 }).instances[0].sopInstanceUid).not.toBe(c.instances[0].sopInstanceUid);
  });

  it.runIf(hasTesseract)('burns text an OCR engine reads back: the name and a date are in the pixels', () => {
    for (const p of c.patients) {
      const inst = c.instances.find((i) => i.patientId === p.patientId)!;
      const d = read(inst.buffer);
      const rows = Number(v(d, '00280010'));
      const cols = Number(v(d, '00280011'));
      const px = new Uint8Array(d['7FE00010'].Value![0] as ArrayBuffer).slice(0, rows * cols);
      // The first two lines of text only, dark on light.
      const bannerRows = 52;
      const scale = 1;
      const out = Buffer.alloc(bannerRows * scale * cols * scale);
      for (let y = 0; y < bannerRows * scale; y++) for (let x = 0; x < cols * scale; x++) out[y * cols * scale + x] = 255 - px[Math.floor(y / scale) * cols + Math.floor(x / scale)];
      const file = path.join(tmp, `${p.patientId}.pgm`);
      fs.writeFileSync(file, Buffer.concat([Buffer.from(`P5\n${cols * scale} ${bannerRows * scale}\n255\n`), out]));
      const r = spawnSync('tesseract', [file, 'stdout', '--psm', '6'], { encoding: 'utf8' });
      const text = r.stdout.replace(/\s+/g, ' ').toUpperCase();
      expect(text).toContain(p.patientName.split('^')[0]);
      // A date on the second line (study date on the ultrasound, birth date on the dose screen).
      // (The MRN is drawn too — burnedText says so — but the bitmap font's O and 0 look alike.)
      const date = /\d{4}-\d{2}-\d{2}/.exec(c.burnedText[inst.sopInstanceUid][1])![0];
      expect(text).toContain(date);
      expect(c.burnedText[inst.sopInstanceUid].join(' ')).toContain(p.patientId);
    }
  });
});
