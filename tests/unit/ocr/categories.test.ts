/**
 * The pieces of OCR that are plain data: text categories (the only thing kept of what OCR read),
 * tesseract's TSV parsed, the frames read of a long multi-frame object, device signature rules
 * (the shipped file validates; matching by manufacturer, model, class, modality and size), and the
 * pool's OCR options in the quarantine verdict.
 */
import { describe, expect, it } from 'vitest';
import { OCR_SCAN_CODE, quarantineCodes } from '@/lib/anonymize/burned-in';
import { ruleSetSchema } from '@/lib/anonymize/rules-schema';
import { DEFAULT_RULES } from '@/lib/anonymize/rules';
import { categorize } from '@/lib/ocr/categories';
import { framesToRead } from '@/lib/ocr/scan';
import { matchSignatures, SIGNATURE_RULES } from '@/lib/ocr/signatures';
import { parseTsv } from '@/lib/ocr/tesseract';
import { padOcrBox } from '@/lib/pools/redact';

describe('categorize', () => {
  it.each([
    ['12/03/2021', 'date'],
    ['2021-03-12', 'date'],
    ['12.03.21', 'date'],
    ['20210312', 'date'],
    ['12-MAR-2021', 'date'],
    ['10:32:05', 'date'],
    ['MARCH', 'date'],
    ['00483921', 'id'],
    ['MRN:884213', 'id'],
    ['DOE^JANE', 'name'],
    ['SMITH,JOHN', 'name'],
    ['Garcia', 'name'],
    ['abdomen', 'word'],
    ['5.2cm', 'other'],
    ['::', 'other'],
  ])('%s is %s', (text, cat) => {
    expect(categorize(text)).toBe(cat);
  });
});

describe('parseTsv', () => {
  it('keeps word rows (level 5) with their box and confidence, skips empty and negative-confidence rows', () => {
    const tsv = [
      'level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext',
      '1\t1\t0\t0\t0\t0\t0\t0\t640\t480\t-1\t',
      '5\t1\t1\t1\t1\t1\t10\t12\t80\t16\t93.5\tDOE^JANE',
      '5\t1\t1\t1\t1\t2\t100\t12\t40\t16\t-1\t',
    ].join('\n');
    expect(parseTsv(tsv)).toEqual([{ x: 10, y: 12, width: 80, height: 16, confidence: 93.5, text: 'DOE^JANE' }]);
  });
});

describe('framesToRead', () => {
  it('reads every frame up to the cap, then spreads the cap from first to last', () => {
    expect(framesToRead(3, 8)).toEqual([0, 1, 2]);
    expect(framesToRead(100, 5)).toEqual([0, 25, 50, 74, 99]);
    expect(framesToRead(100, 1)).toEqual([0]);
  });
});

describe('padOcrBox', () => {
  it('pads by a quarter of the height (at least 2 px), not past the top-left corner', () => {
    expect(padOcrBox({ x: 10, y: 10, width: 40, height: 20 })).toEqual({ x: 5, y: 5, width: 50, height: 30 });
    expect(padOcrBox({ x: 1, y: 0, width: 10, height: 4 })).toEqual({ x: 0, y: 0, width: 13, height: 6 });
  });
});

describe('signature rules', () => {
  it('the shipped file validates and has ultrasound and secondary-capture layouts', () => {
    expect(SIGNATURE_RULES.length).toBeGreaterThanOrEqual(6);
    expect(new Set(SIGNATURE_RULES.map((r) => r.id)).size).toBe(SIGNATURE_RULES.length);
    expect(SIGNATURE_RULES.some((r) => r.match.modalities?.includes('US'))).toBe(true);
    expect(SIGNATURE_RULES.some((r) => r.match.sopClasses?.includes('1.2.840.10008.5.1.4.1.1.7'))).toBe(true);
  });

  it('matches by manufacturer and model (contains, any case), modality and size', () => {
    const us = { sopClassUid: '1.2.840.10008.5.1.4.1.1.6.1', modality: 'US', rows: 480, columns: 640 };
    expect(matchSignatures({ ...us, manufacturer: 'GE Healthcare', model: 'LOGIQ E9' }).map((r) => r.id)).toEqual(['us-ge-logiq-640x480', 'us-any-640x480-top-banner']);
    expect(matchSignatures({ ...us, manufacturer: 'Other', model: 'X' }).map((r) => r.id)).toEqual(['us-any-640x480-top-banner']);
    expect(matchSignatures({ ...us, rows: 481 })).toEqual([]);
    expect(matchSignatures({ ...us, modality: 'CT', sopClassUid: '1.2.840.10008.5.1.4.1.1.2' })).toEqual([]);
  });
});

describe('pool OCR options in the quarantine verdict', () => {
  const ct = { sopClassUid: '1.2.840.10008.5.1.4.1.1.2', modality: 'CT' };
  it('holds a class or modality the pool wants read by OCR first, with reason ocr-scan; not otherwise', () => {
    expect(quarantineCodes(ct)).toEqual([]);
    expect(quarantineCodes(ct, { ocrModalities: ['ct'] })).toEqual([OCR_SCAN_CODE]);
    expect(quarantineCodes(ct, { ocrSopClasses: ['1.2.840.10008.5.1.4.1.1.2'] })).toEqual([OCR_SCAN_CODE]);
    // Already held for a reason of the table: that reason stands alone.
    expect(quarantineCodes({ sopClassUid: '1.2.840.10008.5.1.4.1.1.6.1', modality: 'US' }, { ocrModalities: ['US'] })).toEqual(['ultrasound']);
  });

  it('the rule set accepts the options, refuses a bad one, and leaves a rule set without them unchanged', () => {
    const ok = ruleSetSchema.parse({ ...DEFAULT_RULES, quarantine: { ocrModalities: ['ct'], releaseIfNoText: true, allowLossyRedaction: true } });
    expect(ok.quarantine).toEqual({ ocrModalities: ['CT'], releaseIfNoText: true, allowLossyRedaction: true });
    expect(ruleSetSchema.safeParse({ ...DEFAULT_RULES, quarantine: { ocrSopClasses: ['not a uid'] } }).success).toBe(false);
    expect(ruleSetSchema.parse({ ...DEFAULT_RULES, quarantine: { releaseIfNoText: false } }).quarantine).toBeUndefined();
  });
});
