/**
 * Fuzz: the query-spreadsheet reader (lib/excel) on mutated .xlsx and .csv files (byte flips,
 * truncations, length fields of the zip set to extremes), a zip bomb whose sheet inflates to
 * gigabytes, deeply nested XML and huge shared strings. Each case ends in an AppError or a parsed
 * result, never another exception or a hang, and memory stays bounded. Seeded (tests/helpers/fuzz.ts).
 */
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseQuerySpreadsheet } from '@/lib/excel';
import { AppError } from '@/lib/errors';
import { FUZZ_SEED, Mutator, fuzzCases, rssMiB, withinMs } from '../../helpers/fuzz';
import { rawRow, rawWorkbook, toBuffer, workbookWithHeader, zip } from '../../unit/excel/helpers';

const MiB = 1024 * 1024;

/** Offsets of the zip's size, offset and count fields (local headers, central directory, end record). */
function zipHotspots(buf: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i + 4 <= buf.length; i++) {
    const sig = buf.readUInt32LE(i);
    if (sig === 0x04034b50) out.push(i + 18, i + 22, i + 26, i + 28);
    else if (sig === 0x02014b50) out.push(i + 20, i + 24, i + 28, i + 30, i + 42);
    else if (sig === 0x06054b50) out.push(i + 8, i + 10, i + 12, i + 16);
  }
  return out;
}

async function outcome(buffer: Buffer, fileName: string, label: string): Promise<'refused' | 'parsed'> {
  try {
    await withinMs(20_000, label, () => parseQuerySpreadsheet({ buffer, fileName }));
    return 'parsed';
  } catch (e) {
    if (e instanceof AppError) return 'refused';
    throw new Error(`${label}: not an AppError: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
  }
}

/**
 * A raw deflate stream of `bytes` spaces, made without deflating them: one 4 MiB block run ended
 * with a full flush (byte-aligned, no back-references across it) repeated, then an empty final block.
 */
function deflatedSpaces(bytes: number): Buffer {
  const unit = 4 * MiB;
  const block = deflateRawSync(Buffer.alloc(unit, 0x20), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  return Buffer.concat([...Array.from({ length: Math.ceil(bytes / unit) }, () => block), deflateRawSync(Buffer.alloc(0))]);
}

/** A zip entry whose data is given already deflated (the fixture writer deflates itself). */
function bombZip(sheetDeflated: Buffer, declaredSize: number): Buffer {
  // Build with a placeholder, then splice the bomb in as the sheet's compressed data.
  const entries = rawWorkbook(rawRow(1, ['PatientID']) + rawRow(2, ['123']));
  const placeholder = Buffer.alloc(sheetDeflated.length, 0x41);
  const built = zip(entries.map((e) => (e.name === 'xl/worksheets/sheet1.xml' ? { name: e.name, data: placeholder, store: true, declaredSize } : e)));
  const at = built.indexOf(placeholder);
  sheetDeflated.copy(built, at);
  // Mark the entry as deflated (method 8) in its local header and central directory record.
  const name = Buffer.from('xl/worksheets/sheet1.xml');
  for (let i = built.indexOf(name); i >= 0; i = built.indexOf(name, i + 1)) {
    if (built.readUInt32LE(i - 30) === 0x04034b50) built.writeUInt16LE(8, i - 30 + 8);
    if (built.readUInt32LE(i - 46) === 0x02014b50) built.writeUInt16LE(8, i - 46 + 10);
  }
  return built;
}

describe('fuzz: spreadsheet reader', () => {
  it('refuses or parses every mutated .xlsx and .csv: no other exception, no hang, bounded memory', async () => {
    const { workbook, sheet } = workbookWithHeader(['PatientID', 'PatientName', 'StudyDate', 'Modality', 'AccessionNumber']);
    for (let i = 0; i < 20; i++) sheet.addRow([`MRN${1000 + i}`, `DOE^JANE${i}`, new Date(Date.UTC(2020, 0, 1 + i)), 'CT', `ACC${i}`]);
    const xlsx = await toBuffer(workbook);
    const raw = zip(rawWorkbook(rawRow(1, ['PatientID', 'Modality']) + rawRow(2, ['0012345', 'CT']) + '<row r="3"><c r="A3" t="s"><v>0</v></c></row>', '', ['MRN777']));
    const csv = Buffer.from('PatientID,PatientName,StudyDate,Modality\r\n' + Array.from({ length: 30 }, (_, i) => `MRN${i},"DOE^JOHN ${i}",2020-01-${String(1 + (i % 28)).padStart(2, '0')},MR`).join('\r\n'));
    const seeds = [
      { name: 'exceljs.xlsx', buf: xlsx, hotspots: zipHotspots(xlsx) },
      { name: 'raw.xlsx', buf: raw, hotspots: zipHotspots(raw) },
      { name: 'q.csv', buf: csv, hotspots: [] as number[] },
    ];
    for (const s of seeds) expect(await outcome(s.buf, s.name, s.name)).toBe('parsed');

    const m = new Mutator(FUZZ_SEED);
    const cases = fuzzCases(1500);
    const tally = { refused: 0, parsed: 0 };
    const rss0 = rssMiB();
    let peak = rss0;
    for (let c = 0; c < cases; c++) {
      const s = seeds[c % seeds.length];
      const { out, strategies } = m.mutate(s.buf, { hotspots: s.hotspots, maxMutations: 2 });
      tally[await outcome(out, s.name, `seed ${FUZZ_SEED} case ${c} (${s.name}: ${strategies.join('+')})`)]++;
      if (c % 50 === 0) peak = Math.max(peak, rssMiB());
    }
    expect(tally.refused + tally.parsed).toBe(cases);
    expect(tally.refused).toBeGreaterThan(0);
    expect(tally.parsed).toBeGreaterThan(0);
    expect(peak - rss0).toBeLessThan(400);
  });

  it('refuses a zip bomb (a ~1 MB sheet that inflates to 1 GiB) without inflating it all', async () => {
    const GiB = 1024 * MiB;
    const bomb = deflatedSpaces(GiB);
    expect(bomb.length).toBeLessThan(2 * MiB);
    // The stream is valid deflate: its first 64 MiB inflate to spaces.
    const head = inflateRawSync(bomb.subarray(0, Math.ceil(bomb.length / 16)), { finishFlush: constants.Z_SYNC_FLUSH });
    expect(head.length).toBe(64 * MiB);
    expect(head.every((b) => b === 0x20)).toBe(true);
    const rss0 = rssMiB();
    // Honest central directory: refused from the directory alone.
    const honest = bombZip(bomb, GiB - 1);
    await expect(parseQuerySpreadsheet({ buffer: honest, fileName: 'q.xlsx' })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    // Lying central directory (declares 4 KB): yauzl stops inflating past the declared size.
    const liar = bombZip(bomb, 4096);
    const err = await parseQuerySpreadsheet({ buffer: liar, fileName: 'q.xlsx' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(rssMiB() - rss0).toBeLessThan(200);
  });

  it('refuses or parses deeply nested XML and huge shared strings, within memory', async () => {
    const rss0 = rssMiB();
    const depth = 200_000;
    const deepCell = `<row r="2"><c r="A2" t="inlineStr"><is>${'<r>'.repeat(depth)}<t>1</t>${'</r>'.repeat(depth)}</is></c></row>`;
    const deep = zip(rawWorkbook(rawRow(1, ['PatientID']) + deepCell));
    const deepExtra = zip(rawWorkbook(rawRow(1, ['PatientID']) + rawRow(2, ['1']), `${'<x>'.repeat(depth)}${'</x>'.repeat(depth)}`));
    const huge = zip(rawWorkbook(rawRow(1, ['PatientID']) + '<row r="2"><c r="A2" t="s"><v>0</v></c></row>', '', ['9'.repeat(40 * MiB)]));
    const many = zip(rawWorkbook(rawRow(1, ['PatientID']) + '<row r="2"><c r="A2" t="s"><v>299999</v></c></row>', '', Array.from({ length: 300_000 }, (_, i) => `S${i}`)));
    for (const [name, buf] of [['deep cell', deep], ['deep extra', deepExtra], ['huge shared string', huge], ['many shared strings', many]] as const) {
      const r = await outcome(buf, 'q.xlsx', name);
      expect(['refused', 'parsed']).toContain(r);
    }
    expect(rssMiB() - rss0).toBeLessThan(600);
  });
});
