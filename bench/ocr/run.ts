/**
 * OCR recall and speed on images with known text burned in.
 *
 *   npm run bench:ocr -- [--images N] [--redact]
 *
 * Renders N images (default 48) with Chromium (tests/helpers/burned-text.ts: a name, a date and an
 * MRN-like number on each, six font families, sizes 14-32 px, four image sizes, four text
 * colours), writes each as a DICOM instance cycling through greyscale 8 bit, RGB interleaved,
 * greyscale 16 bit and RGB planar, ultrasound and secondary capture, then runs the production OCR
 * (lib/ocr/scan.ts ocrFile: windowing to 8 bits, tesseract TSV) on each, one at a time.
 * Prints recall (planted strings overlapped by a found box / planted strings, goal >= 95 %), per
 * kind, boxes found away from any planted string, and images per second. With --redact, each image
 * is also redacted as "redact and release" does (padded OCR boxes, then OCR of the result and up to
 * two more passes) and read again: residual = planted strings still found.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ocrFile } from '../../lib/ocr/scan';
import { padOcrBox, redactVerified } from '../../lib/pools/redact';
import { burnedInstance, closeRenderer, overlaps, renderImages, textSpecs, type PixelLayout } from '../../tests/helpers/burned-text';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const N = arg('images', 48);
const REDACT = process.argv.includes('--redact');
const LAYOUTS: PixelLayout[] = ['grey8', 'rgb', 'grey16', 'rgb-planar'];

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-bench-ocr-'));
  try {
    const t0 = performance.now();
    const images = await renderImages(textSpecs(N));
    await closeRenderer();
    console.log(`rendered ${images.length} images in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const files = images.map((img, i) => {
      const inst = burnedInstance({ img, layout: LAYOUTS[i % LAYOUTS.length], kind: i % 2 ? 'sc' : 'us' });
      const f = path.join(dir, `${i}.dcm`);
      fs.writeFileSync(f, inst.bytes);
      return { f, img, sop: inst.sop };
    });
    const byKind = new Map<string, { found: number; total: number }>();
    let found = 0;
    let total = 0;
    let stray = 0;
    let residual = 0;
    let ocrMs = 0;
    for (const { f, img, sop } of files) {
      const s = performance.now();
      const r = await ocrFile(f);
      ocrMs += performance.now() - s;
      for (const p of img.planted) {
        const hit = r.boxes.some((b) => overlaps(b, p));
        total++;
        if (hit) found++;
        const k = byKind.get(p.kind) ?? { found: 0, total: 0 };
        k.total++;
        if (hit) k.found++;
        byKind.set(p.kind, k);
      }
      stray += r.boxes.filter((b) => !img.planted.some((p) => overlaps(b, p))).length;
      if (REDACT && r.boxes.length) {
        // As "redact and release" does: the padded OCR boxes, then OCR again on the result (up to two more passes).
        const { out } = await redactVerified(f, r.boxes.map((b) => ({ frame: null, ...padOcrBox(b), source: 'ocr' as const })), { sourceSopUid: sop, allowLossy: false, recheck: true, tmpDir: dir });
        const rf = `${f}.redacted.dcm`;
        fs.writeFileSync(rf, out.bytes);
        const again = await ocrFile(rf);
        residual += img.planted.filter((p) => again.boxes.some((b) => overlaps(b, p))).length;
      }
    }
    const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)} %`;
    console.log(`\nimages: ${files.length}, planted strings: ${total}`);
    console.log(`recall: ${found}/${total} = ${pct(found, total)} (goal >= 95 %)`);
    for (const [k, v] of byKind) console.log(`  ${k.padEnd(5)} ${v.found}/${v.total} = ${pct(v.found, v.total)}`);
    console.log(`boxes away from any planted string: ${stray}`);
    console.log(`OCR: ${(files.length / (ocrMs / 1000)).toFixed(2)} images/s (${(ocrMs / files.length).toFixed(0)} ms per image, one at a time)`);
    if (REDACT) console.log(`after redaction of the OCR boxes, planted strings still found: ${residual} (of the ${found} found)`);
    if (found / total < 0.95) process.exitCode = 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
