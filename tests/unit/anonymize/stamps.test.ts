/**
 * The clinical-trial and longitudinal stamps and the method codes (lib/anonymize/stamps.ts,
 * method-codes.ts): element values, the options actually applied, and real generated instances
 * de-identified with stamps on that still validate with dciodvfy as the same IOD and carry no
 * source identifier in any stamp.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-ignore -- dcmjs ships no type declarations
import dcmjs from 'dcmjs';
import { afterAll, describe, expect, it } from 'vitest';
import { lookupTag } from '../../../lib/anonymize/dictionary';
import { deidentify, readElementsForPreview } from '../../../lib/anonymize/engine';
import { METHOD_CODE, methodCodesFor } from '../../../lib/anonymize/method-codes';
import { compileRules } from '../../../lib/anonymize/profile';
import { DEFAULT_RULES, type RuleSet, ruleSetSchema, validateRuleSet } from '../../../lib/anonymize/rules';
import { STAMP_TAGS, dayNumber, stampElements } from '../../../lib/anonymize/stamps';
import { generateCorpus } from '../../../lib/synthetic';
import { phiStrings, scanForPhi } from '../../helpers/phi';
import { SECRET } from './helpers';

(dcmjs as { log: { setLevel(l: string): void } }).log.setLevel('error');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tributary-stamps-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const corpus = generateCorpus({ patients: 3, seriesPerStudy: 1, instancesPerSeries: 2 });

const STAMPS: NonNullable<RuleSet['stamps']> = ruleSetSchema.parse({
  profile: 'basic',
  stamps: {
    clinicalTrial: {
      sponsorName: 'Example Oncology Group',
      protocolId: 'EOG-2026-01',
      protocolName: 'Imaging response study',
      siteId: 'S01',
      siteName: 'University Hospital',
      coordinatingCenter: 'Imaging Core Lab',
      ethicsCommitteeName: 'Example IRB',
      ethicsApprovalNumber: 'IRB-123',
      readingIdTable: 'reading-ids',
      timePoint: { table: 'time-points', key: 'AccessionNumber', descriptions: { BL: 'Baseline', FU1: 'First follow-up' } },
    },
    longitudinal: { eventType: 'ENROLLMENT', anchorTable: 'enrollment-dates' },
  },
}).stamps!;

const rulesWith = (extra: Partial<RuleSet>): RuleSet => ruleSetSchema.parse({ ...DEFAULT_RULES, ...extra });

function naturalize(buf: Buffer): Record<string, unknown> {
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(ab).dict);
}

function dciodvfy(file: string): { iod: string; errors: Set<string> } {
  const r = spawnSync('dciodvfy', [file], { encoding: 'latin1' });
  if (r.error) throw new Error(`dciodvfy could not run (install the Debian package dicom3tools): ${r.error.message}`);
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim());
  const iod = lines.find((l) => /^[A-Za-z0-9]+$/.test(l)) ?? '';
  const errors = new Set(lines.filter((l) => l.startsWith('Error')).map((l) => l.replace(/\[\d+\] = <[^>]*>/g, '[n] = <>')));
  return { iod, errors };
}

/** Lookups as the pool would hold them: keyed by source values, owner-chosen values. */
function lookupsFor() {
  const timePoints: Record<string, string> = {};
  const anchors: Record<string, string> = {};
  const readingIds: Record<string, string> = {};
  corpus.patients.forEach((p, i) => {
    p.studies.forEach((s, j) => (timePoints[s.accessionNumber] = j === 0 ? 'BL' : 'FU1'));
    // Enrolled 10 days before the first study.
    const first = dayNumber(p.studies[0].studyDate)!;
    const d = new Date((first - 10) * 86_400_000);
    anchors[p.patientId] = d.toISOString().slice(0, 10).replace(/-/g, '');
    readingIds[`TRIB${String(i).padStart(4, '0')}`] = `R-${100 + i}`;
  });
  return { 'time-points': timePoints, 'enrollment-dates': anchors, 'reading-ids': readingIds };
}

describe('method codes', () => {
  it('writes the Basic Profile code alone for the Basic Profile', () => {
    expect(methodCodesFor({ options: new Set(), dates: 'removed' }).map((c) => c.code)).toEqual(['113100']);
  });
  it('writes only the dates option that was applied', () => {
    const both = new Set(['retainLongitudinalFullDates', 'retainLongitudinalModifiedDates'] as const);
    expect(methodCodesFor({ options: both, dates: 'full' }).map((c) => c.code)).toEqual(['113100', '113106']);
    expect(methodCodesFor({ options: new Set(['retainLongitudinalModifiedDates'] as const), dates: 'modified' }).map((c) => c.code)).toEqual(['113100', '113107']);
  });
  it('adds Clean Pixel Data only for a redacted instance, in code order', () => {
    const codes = methodCodesFor({ options: new Set(['cleanDescriptors', 'retainSafePrivate'] as const), dates: 'removed', cleanedPixels: true });
    expect(codes.map((c) => c.code)).toEqual(['113100', '113101', '113105', '113111']);
    expect(codes[1]).toEqual({ code: '113101', meaning: 'Clean Pixel Data Option' });
  });
  it('has the PS3.16 CID 7050 meanings', () => {
    expect(METHOD_CODE.retainPatientCharacteristics).toEqual({ code: '113108', meaning: 'Retain Patient Characteristics Option' });
    expect(METHOD_CODE.retainDeviceIdentity).toEqual({ code: '113109', meaning: 'Retain Device Identity Option' });
  });
});

describe('stamp schema', () => {
  it('refuses an approval number without the committee, a missing sponsor and a backslash', () => {
    const bad = (clinicalTrial: Record<string, unknown>) => validateRuleSet({ profile: 'basic', stamps: { clinicalTrial } });
    expect(bad({ sponsorName: 'A', protocolId: 'P', ethicsApprovalNumber: '1' }).ok).toBe(false);
    expect(bad({ sponsorName: '', protocolId: 'P' }).ok).toBe(false);
    expect(bad({ sponsorName: 'A\\B', protocolId: 'P' }).ok).toBe(false);
    expect(bad({ sponsorName: 'A', protocolId: 'P' }).ok).toBe(true);
  });
  it('uses the stamps’ dictionary VRs', () => {
    const els = stampElements(STAMPS, 'modified', { researchId: 'R1', researchName: 'R^1', dateOffsetDays: 0, lookups: lookupsFor() }, {
      patientId: corpus.patients[0].patientId,
      accessionNumber: corpus.patients[0].studies[0].accessionNumber,
      studyInstanceUid: '',
      studyDate: corpus.patients[0].studies[0].studyDate,
    });
    expect(els.length).toBe(Object.keys(STAMP_TAGS).length - 1); // no reading ID for "R1"
    for (const el of els) expect(lookupTag(el.tag)?.vr, el.tag.toString(16)).toBe(el.vr);
  });
});

describe('stamps on real generated instances', () => {
  const rules = rulesWith({ stamps: STAMPS });
  const compiled = compileRules(rules);
  const lookups = lookupsFor();
  const phi = phiStrings(corpus);

  it.each(corpus.instances.map((inst) => [inst.relPath, inst] as const))('%s', (_rel, inst) => {
    const idx = corpus.patients.findIndex((p) => p.patientId === inst.patientId);
    const patient = corpus.patients[idx];
    const study = patient.studies.find((s) => s.studyInstanceUid === inst.studyInstanceUid)!;
    const identity = { researchId: `TRIB${String(idx).padStart(4, '0')}`, researchName: `TRIB^${idx}`, dateOffsetDays: -31, lookups };
    const res = deidentify(inst.buffer, compiled, { uidSecret: SECRET }, identity, { ruleVersion: 4 });
    const ds = naturalize(res.output);

    expect(ds.ClinicalTrialSponsorName).toBe('Example Oncology Group');
    expect(ds.ClinicalTrialProtocolID).toBe('EOG-2026-01');
    expect(ds.ClinicalTrialProtocolName).toBe('Imaging response study');
    expect(ds.ClinicalTrialSiteID).toBe('S01');
    expect(ds.ClinicalTrialSiteName).toBe('University Hospital');
    expect(ds.ClinicalTrialSubjectID).toBe(identity.researchId);
    expect(ds.ClinicalTrialSubjectReadingID).toBe(`R-${100 + idx}`);
    const tp = patient.studies.indexOf(study) === 0 ? 'BL' : 'FU1';
    expect(ds.ClinicalTrialTimePointID).toBe(tp);
    expect(ds.ClinicalTrialTimePointDescription).toBe(tp === 'BL' ? 'Baseline' : 'First follow-up');
    expect(ds.ClinicalTrialCoordinatingCenterName).toBe('Imaging Core Lab');
    expect(ds.ClinicalTrialProtocolEthicsCommitteeName).toBe('Example IRB');
    expect(ds.ClinicalTrialProtocolEthicsCommitteeApprovalNumber).toBe('IRB-123');
    // Days from enrollment (10 days before the first study) to this study.
    const expected = dayNumber(study.studyDate)! - dayNumber(patient.studies[0].studyDate)! + 10;
    expect(ds.LongitudinalTemporalOffsetFromEvent).toBe(expected);
    expect(ds.LongitudinalTemporalEventType).toBe('ENROLLMENT');
    // The shifted study date keeps the same interval to the (equally shifted) event.
    expect(ds.StudyDate).not.toBe(study.studyDate);
    expect(ds.PatientIdentityRemoved).toBe('YES');
    expect(ds.LongitudinalTemporalInformationModified).toBe('MODIFIED');
    expect(String(ds.DeidentificationMethod)).toMatch(/^Tributary PS3\.15 Basic Profile rules v4 #[0-9a-f]{8}$/);
    const codes = (ds.DeidentificationMethodCodeSequence as Array<Record<string, string>>).map((c) => [c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning]);
    expect(codes).toEqual([
      ['113100', 'DCM', 'Basic Application Confidentiality Profile'],
      ['113107', 'DCM', 'Retain Longitudinal Temporal Information Modified Dates Option'],
    ]);
    expect(res.summary.methodCodes).toEqual(['113100', '113107']);
    expect(res.summary.added).toBeGreaterThanOrEqual(14);

    // No stamp carries a source identifier.
    const stampValues = readElementsForPreview(res.output)
      .filter((e) => !e.path && e.tag.startsWith('(0012,'))
      .map((e) => `${e.tag} ${e.value}`);
    expect(stampValues.length).toBeGreaterThanOrEqual(15);
    expect(scanForPhi(inst.relPath, stampValues, phi)).toEqual([]);

    // Still the same IOD, with no error the input did not have.
    const fin = path.join(tmp, 'in.dcm');
    const fout = path.join(tmp, 'out.dcm');
    writeFileSync(fin, inst.buffer);
    writeFileSync(fout, res.output);
    const before = dciodvfy(fin);
    const after = dciodvfy(fout);
    expect(before.iod).toMatch(/^(CT|MR)Image$/);
    expect(after.iod).toBe(before.iod);
    expect([...after.errors].filter((e) => !before.errors.has(e))).toEqual([]);
  });

  it('leaves out the offset when dates are removed, and writes an empty Time Point ID on a miss', () => {
    const basic = compileRules(ruleSetSchema.parse({ profile: 'basic', stamps: STAMPS }));
    const inst = corpus.instances[0];
    const res = deidentify(inst.buffer, basic, { uidSecret: SECRET }, { researchId: 'TRIB0000', researchName: 'TRIB^0', dateOffsetDays: 0, lookups: {} });
    const ds = naturalize(res.output);
    expect(ds.LongitudinalTemporalOffsetFromEvent).toBeUndefined();
    expect(ds.LongitudinalTemporalEventType).toBeUndefined();
    expect(ds.ClinicalTrialSubjectReadingID).toBeUndefined();
    expect(ds.ClinicalTrialTimePointDescription).toBeUndefined();
    const tp = readElementsForPreview(res.output).find((e) => e.tag === '(0012,0050)');
    expect(tp?.value).toBe('');
    expect(ds.LongitudinalTemporalInformationModified).toBe('REMOVED');
    expect(res.summary.methodCodes).toEqual(['113100']);
  });

  it('writes no stamp when the rules have none, and counts every element once', () => {
    const inst = corpus.instances[0];
    const res = deidentify(inst.buffer, compileRules(DEFAULT_RULES), { uidSecret: SECRET }, { researchId: 'TRIB0000', researchName: 'TRIB^0', dateOffsetDays: -5 });
    const ds = naturalize(res.output);
    expect(ds.ClinicalTrialSponsorName).toBeUndefined();
    expect(ds.ClinicalTrialSubjectID).toBeUndefined();
    expect(ds.LongitudinalTemporalOffsetFromEvent).toBeUndefined();
    const s = res.summary;
    expect(s.kept).toBeGreaterThan(10);
    expect(s.shifted).toBeGreaterThan(0);
    expect(s.uidRemapped).toBeGreaterThanOrEqual(3);
    expect(s.removed).toBeGreaterThan(0);
    const changedTotal = res.changed.reduce((n, c) => n + (c.count ?? 1), 0);
    expect(s.removed + s.emptied + s.replaced + s.shifted + s.uidRemapped + s.cleaned + s.added).toBe(changedTotal);
  });
});
