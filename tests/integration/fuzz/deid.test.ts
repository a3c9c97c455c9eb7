/**
 * Fuzz: the de-identification engine on mutated Part-10 files (byte flips, truncations, length
 * fields set to extremes, ranges duplicated or deleted, sequences nested deeply). Each case ends
 * either in an AppError (a refusal naming no value) or in an output that parses again and holds
 * none of the PHI strings its input held. Seeded: a failure prints seed and case for replay.
 */
import { describe, expect, it } from 'vitest';
import { deidentify, readElementsForPreview, type PreviewElement } from '@/lib/anonymize/engine';
import { lookupTag } from '@/lib/anonymize/dictionary';
import { parsePart10 } from '@/lib/anonymize/parse';
import { compileRules } from '@/lib/anonymize/profile';
import { DEFAULT_RULES } from '@/lib/anonymize/rules';
import { AppError } from '@/lib/errors';
import { generateCorpus } from '@/lib/synthetic';
import { FUZZ_SEED, Mutator, elementLengthOffsets, fuzzCases, rssMiB } from '../../helpers/fuzz';
import { buildPart10, ctInstance, IDENTITY, SECRET, TS, type TElem } from '../../unit/anonymize/helpers';

const compiled = compileRules(DEFAULT_RULES);
const corpus = generateCorpus({ seed: 77, patients: 2, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 3, rows: 8, columns: 8 });
const phi = [...new Set(corpus.phiStrings.filter((s) => s.trim().length >= 4))];

/** PHI strings (as raw latin1/utf8 bytes, upper-cased too) found in a buffer. */
function phiIn(buf: Buffer, candidates: string[]): string[] {
  return candidates.filter((s) => {
    const forms = new Set([s, s.toUpperCase(), s.replace(/\^/g, ' ')]);
    return [...forms].some((f) => buf.includes(Buffer.from(f, 'latin1')) || buf.includes(Buffer.from(f, 'utf8')));
  });
}

/** A dataset whose sequences nest `depth` levels deep, PHI in the innermost item. */
function nested(depth: number, undefinedLength: boolean): Buffer {
  let inner: TElem[] = [
    { tag: 0x00100010, vr: 'PN', value: 'NESTED^PATIENT^PHI' },
    { tag: 0x00100020, vr: 'LO', value: 'MRN-NESTED-0042' },
  ];
  for (let i = 0; i < depth; i++) {
    inner = [{ tag: 0x00081115, vr: 'SQ', value: [inner], undefinedLength, itemsUndefined: undefinedLength }];
  }
  return buildPart10([...ctInstance(), ...inner], { ts: TS.explicit });
}

interface Tally {
  refused: number;
  output: number;
  relabelled: number;
  messages: Set<string>;
}

const elements = (buf: Buffer): PreviewElement[] => {
  try {
    return readElementsForPreview(buf);
  } catch {
    return [];
  }
};
const key = (e: PreviewElement) => `${e.path ?? ''}|${e.tag}|${e.value}`;

/**
 * PHI the engine cannot know about: a mutation that rewrote only a tag, turning a well-formed
 * element (say Station Name, SH) into another standard attribute of the same VR that the rules
 * keep. That is byte for byte what a sender writing PHI into that attribute sends, and tag-based
 * de-identification (PS3.15) keeps it by design. Tolerated only when every output element holding
 * the PHI is such an element: present in the mutated input under a tag whose dictionary VR is its
 * VR, and absent under that tag from the unmutated seed.
 */
function onlyRelabelled(out: Buffer, input: Buffer, original: Buffer, found: string[]): boolean {
  const inInput = new Set(elements(input).map(key));
  const inOriginal = new Set(elements(original).map(key));
  const holders = elements(out).filter((e) => phiIn(Buffer.from(e.value, 'latin1'), found).length > 0);
  if (!holders.length) return false; // PHI in bytes no element accounts for: never tolerated
  return holders.every((e) => {
    const tag = parseInt(e.tag.replace(/[(),]/g, ''), 16) >>> 0;
    return inInput.has(key(e)) && !inOriginal.has(key(e)) && lookupTag(tag)?.vr === e.vr;
  });
}

function runCase(input: Buffer, phiBefore: string[], label: string, tally: Tally, original = input) {
  let out: Buffer;
  try {
    out = deidentify(input, compiled, { uidSecret: SECRET }, IDENTITY, { ruleVersion: 1 }).output;
  } catch (e) {
    // A refusal: an AppError, never a raw RangeError/TypeError from a read past the end.
    if (!(e instanceof AppError)) throw new Error(`${label}: not an AppError: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
    // Its message names offsets and tags, never a value of the input.
    expect(phiIn(Buffer.from(e.message, 'utf8'), phiBefore), `${label}: error message quotes PHI`).toEqual([]);
    tally.refused++;
    tally.messages.add(e.message.replace(/\d+/g, 'n'));
    return;
  }
  tally.output++;
  // The output parses again...
  expect(() => parsePart10(out), `${label}: output does not parse`).not.toThrow();
  // ...and carries none of the PHI that was in its input.
  const found = phiIn(out, phiBefore);
  if (found.length && onlyRelabelled(out, input, original, found)) {
    tally.relabelled++;
    return;
  }
  expect(found, `${label}: output still holds PHI`).toEqual([]);
}

describe('fuzz: de-identification of mutated Part-10 files', () => {
  const seeds: { name: string; buf: Buffer }[] = [
    ...corpus.instances.slice(0, 3).map((i, n) => ({ name: `corpus${n}`, buf: i.buffer })),
    { name: 'implicit', buf: buildPart10([...ctInstance(), { tag: 0x00100010, vr: 'PN', value: 'IMPLICIT^PATIENT^PHI' }], { ts: TS.implicit }) },
    { name: 'bigEndian', buf: buildPart10([...ctInstance(), { tag: 0x00100010, vr: 'PN', value: 'BIGENDIAN^PATIENT^PHI' }], { ts: TS.bigEndian }) },
    { name: 'deflated', buf: buildPart10([...ctInstance(), { tag: 0x00100010, vr: 'PN', value: 'DEFLATED^PATIENT^PHI' }], { ts: TS.deflated }) },
    { name: 'nested', buf: nested(12, false) },
    { name: 'nestedUndefined', buf: nested(12, true) },
  ];
  const extraPhi = ['IMPLICIT^PATIENT^PHI', 'BIGENDIAN^PATIENT^PHI', 'DEFLATED^PATIENT^PHI', 'NESTED^PATIENT^PHI', 'MRN-NESTED-0042'];

  it('the unmutated seeds de-identify cleanly (the oracle can see PHI)', () => {
    for (const s of seeds) {
      const before = phiIn(s.buf, [...phi, ...extraPhi]);
      // Deflated input holds its PHI compressed; the others hold it in clear.
      if (s.name !== 'deflated') expect(before.length, s.name).toBeGreaterThan(0);
      const tally: Tally = { refused: 0, output: 0, relabelled: 0, messages: new Set() };
      runCase(s.buf, before, s.name, tally);
      expect(tally.output, s.name).toBe(1);
    }
  });

  it('refuses or cleans every mutated file: no crash, no hang, no PHI out', () => {
    const m = new Mutator(FUZZ_SEED);
    const cases = fuzzCases(3000);
    const tally: Tally = { refused: 0, output: 0, relabelled: 0, messages: new Set() };
    const rss0 = rssMiB();
    for (let c = 0; c < cases; c++) {
      const seed = seeds[c % seeds.length];
      const hotspots = elementLengthOffsets(seed.buf, 132);
      const { out: input, strategies } = m.mutate(seed.buf, { hotspots, maxMutations: 3 });
      const before = phiIn(input, [...phi, ...extraPhi]);
      runCase(input, before, `seed ${FUZZ_SEED} case ${c} (${seed.name}: ${strategies.join('+')})`, tally, seed.buf);
    }
    expect(tally.refused + tally.output).toBe(cases);
    // Both outcomes occur: the mutations reach past the header checks and also break files.
    expect(tally.refused).toBeGreaterThan(cases / 20);
    expect(tally.output).toBeGreaterThan(cases / 20);
    // Relabelled PHI (see onlyRelabelled) needs a mutation of exactly a tag into a kept tag of the same VR: rare.
    expect(tally.relabelled).toBeLessThan(cases / 200);
    expect(rssMiB() - rss0).toBeLessThan(300);
  });

  it('refuses sequences nested beyond the depth limit with a clear error', () => {
    for (const undef of [false, true]) {
      const deep = nested(200, undef);
      expect(() => deidentify(deep, compiled, { uidSecret: SECRET }, IDENTITY), `undefined=${undef}`).toThrow(/nested too deeply/);
    }
  });

  // Regression cases for what the fuzzer found (seed 20261207 and FUZZ_SEED 1-5 at FUZZ_SCALE=10).
  describe('found by the fuzzer', () => {
    const deid = (buf: Buffer) => deidentify(buf, compiled, { uidSecret: SECRET }, IDENTITY, { ruleVersion: 1 });
    /** Explicit VR LE short-form header of `tag` with `vr`, as bytes to search for. */
    const head = (tag: number, vr: string) => {
      const b = Buffer.alloc(6);
      b.writeUInt16LE(tag >>> 16, 0);
      b.writeUInt16LE(tag & 0xffff, 2);
      b.write(vr, 4, 'latin1');
      return b;
    };

    it('a kept value whose length swallows the next elements is removed, not copied with the PHI inside', () => {
      // Window Center (DS, kept) followed by Requesting Physician (PN, removed); Study Time (TM, kept) likewise.
      for (const [tag, vr, value, victim] of [[0x00281050, 'DS', '40', 0x00321032], [0x00080030, 'TM', '103000', 0x00081070]] as const) {
        const buf = buildPart10(ctInstance([{ tag, vr, value }, { tag: victim, vr: 'PN', value: 'PRESCOTT^HELENA^^DR' }, { tag: 0x00081010, vr: 'SH', value: 'CTSCAN8760' }]));
        const at = buf.indexOf(head(tag, vr));
        expect(at).toBeGreaterThan(0);
        // The length now runs to the end of the PN element: every element in between joins the value.
        const pn = buf.indexOf(head(victim, 'PN'));
        buf.writeUInt16LE(pn + 8 + buf.readUInt16LE(pn + 6) - (at + 8), at + 6);
        const { output, changed } = deid(buf);
        expect(phiIn(output, ['PRESCOTT^HELENA^^DR', 'CTSCAN8760', 'Doe^John', 'MRN998877'])).toEqual([]);
        expect(changed.some((c) => c.action === 'remove (value does not fit its VR)')).toBe(true);
        expect(() => parsePart10(output)).not.toThrow();
      }
    });

    it('a standard attribute sent with another VR (a name under Manufacturer Model Name, text under a sequence) is removed', () => {
      const buf = buildPart10(ctInstance([
        { tag: 0x00081090, vr: 'PN', value: 'PRESCOTT^HELENA^^DR' }, // ManufacturerModelName is LO
        { tag: 0x00080110, vr: 'SH', value: 'CTSCAN8760' }, // CodingSchemeIdentificationSequence is SQ
      ]));
      const { output } = deid(buf);
      expect(phiIn(output, ['PRESCOTT^HELENA^^DR', 'CTSCAN8760'])).toEqual([]);
      // The same values under their dictionary VR are kept (the rules keep these attributes).
      const ok = deid(buildPart10(ctInstance([{ tag: 0x00081090, vr: 'LO', value: 'SCANNER X1' }]))).output;
      expect(ok.includes(Buffer.from('SCANNER X1'))).toBe(true);
    });

    it('a SOP Class UID whose length swallows the next elements is refused, not written into the meta header', () => {
      const buf = buildPart10(ctInstance());
      const at = buf.indexOf(head(0x00080016, 'UI'), 132 + 12);
      expect(at).toBeGreaterThan(0);
      // Through Accession Number: SOP Instance UID (taken from the meta header then) and dates join the value.
      const acc = buf.indexOf(head(0x00080050, 'SH'));
      buf.writeUInt16LE(acc + 8 + buf.readUInt16LE(acc + 6) - (at + 8), at + 6);
      expect(() => deid(buf)).toThrow(/SOP Class UID \(0008,0016\) is not a valid UID/);
      try {
        deid(buf);
      } catch (e) {
        expect(e).toBeInstanceOf(AppError);
        expect(phiIn(Buffer.from((e as Error).message), ['Doe^John', 'MRN998877', 'ACC12345'])).toEqual([]);
      }
    });
  });
});
