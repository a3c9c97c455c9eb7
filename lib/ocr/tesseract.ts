/**
 * Tesseract (Debian's `tesseract-ocr`, English model) run as a child process on one 8-bit image
 * (PNM or PNG, given on stdin):
 * TSV output gives each word's box and confidence. Asynchronous (execFile): the event loop is
 * never blocked; the caller bounds how many run at once (the OCR queue's concurrency).
 *
 * The recognised text is returned to the caller for classification only (lib/ocr/scan.ts keeps
 * the category and drops the text); it is never logged, and errors carry no output of tesseract.
 */
import { execFile } from 'node:child_process';

export const TESSERACT_BIN = process.env.TESSERACT_BIN || 'tesseract';

export interface OcrWord {
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
  text: string;
}

export class TesseractUnavailableError extends Error {
  readonly code = 'tesseract-unavailable';
}
export class TesseractFailedError extends Error {
  readonly code = 'tesseract-failed';
}

let available: Promise<boolean> | null = null;

/** Whether the tesseract binary runs here (checked once per process). */
export function tesseractAvailable(): Promise<boolean> {
  available ??= new Promise((resolve) => {
    execFile(TESSERACT_BIN, ['--version'], { timeout: 20_000 }, (err) => resolve(!err));
  });
  return available;
}

/** Parses tesseract's TSV (level 5 rows are words). */
export function parseTsv(tsv: string): OcrWord[] {
  const words: OcrWord[] = [];
  for (const line of tsv.split('\n')) {
    const f = line.split('\t');
    if (f.length < 12 || f[0] !== '5') continue;
    const text = f.slice(11).join('\t').trim();
    const confidence = Number(f[10]);
    if (!text || !Number.isFinite(confidence) || confidence < 0) continue;
    words.push({ x: Number(f[6]), y: Number(f[7]), width: Number(f[8]), height: Number(f[9]), confidence, text });
  }
  return words;
}

/**
 * Words in an image (PNM or PNG bytes). Page segmentation 11 (sparse text: burned-in annotation is scattered labels, not
 * paragraphs). `timeoutMs` bounds a pathological image.
 */
export function recognizeWords(image: Buffer, opts: { psm?: number; timeoutMs?: number } = {}): Promise<OcrWord[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      TESSERACT_BIN,
      ['stdin', 'stdout', '--psm', String(opts.psm ?? 11), '-l', 'eng', 'tsv'],
      { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', env: { ...process.env, OMP_THREAD_LIMIT: '1' } },
      (err, stdout) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          // Never the message: it may quote what tesseract printed.
          if (code === 'ENOENT') return reject(new TesseractUnavailableError('tesseract is not installed'));
          return reject(new TesseractFailedError(err.killed ? 'tesseract timed out' : 'tesseract failed'));
        }
        resolve(parseTsv(stdout));
      },
    );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(image);
  });
}
