import { describe, expect, it } from 'vitest';
import { parseStudyDate, queryRowSchema, validateQueryRow } from '@/lib/excel/schema';

function errorsOf(input: Record<string, unknown>): string[] {
  const result = validateQueryRow(input);
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.row)}`);
  return result.errors;
}

describe('query row schema (single-MRN form, API, spreadsheet rows)', () => {
  it('normalizes a full row and drops blank fields', () => {
    expect(
      queryRowSchema.parse({
        patientId: ' 0012345 ',
        accessionNumber: 'A1',
        modality: 'ct, mr;ct',
        studyDateFrom: '2024-01-05',
        studyDateTo: '20240131',
        studyDescription: 'CT HEAD ?BLEED',
        researchId: 'SUBJ-001',
        researchName: 'SUBJECT^001',
      }),
    ).toEqual({
      patientId: '0012345',
      accessionNumber: 'A1',
      modality: 'CT\\MR',
      studyDateFrom: '20240105',
      studyDateTo: '20240131',
      studyDescription: 'CT HEAD ?BLEED',
      researchId: 'SUBJ-001',
      researchName: 'SUBJECT^001',
    });
    expect(queryRowSchema.parse({ patientId: 'X1', modality: '  ', studyDateFrom: null, accessionNumber: '' })).toEqual({ patientId: 'X1' });
  });

  it('requires PatientID', () => {
    expect(errorsOf({})).toEqual(['PatientID is required.']);
    expect(errorsOf({ patientId: '   ', modality: 'CT' })).toEqual(['PatientID is required.']);
  });

  it('refuses wildcards, backslashes and control characters in PatientID without echoing the value', () => {
    expect(errorsOf({ patientId: '00123*' })).toEqual(['PatientID must not contain * or ?: a wildcard would match many patients.']);
    expect(errorsOf({ patientId: '?' })).toEqual(['PatientID must not contain * or ?: a wildcard would match many patients.']);
    expect(errorsOf({ patientId: 'A\\B' })).toEqual(['PatientID must not contain a backslash (\\): DICOM uses it to separate values.']);
    expect(errorsOf({ patientId: 'A\nB' })).toEqual(['PatientID must not contain line breaks, tabs or other control characters.']);
    const secret = 'SECRET-MRN-*';
    expect(errorsOf({ patientId: secret }).join(' ')).not.toContain('SECRET');
  });

  it('enforces the DICOM lengths', () => {
    expect(validateQueryRow({ patientId: 'x'.repeat(64) }).ok).toBe(true);
    expect(errorsOf({ patientId: 'x'.repeat(65) })).toEqual(['PatientID is longer than 64 characters.']);
    expect(validateQueryRow({ patientId: '1', accessionNumber: 'a'.repeat(16) }).ok).toBe(true);
    expect(errorsOf({ patientId: '1', accessionNumber: 'a'.repeat(17) })).toEqual(['AccessionNumber is longer than 16 characters.']);
    expect(errorsOf({ patientId: '1', studyDescription: 'd'.repeat(65) })).toEqual(['StudyDescription is longer than 64 characters.']);
    expect(errorsOf({ patientId: '1', researchId: 'r'.repeat(65) })).toEqual(['ResearchID is longer than 64 characters.']);
    expect(errorsOf({ patientId: '1', researchName: 'n'.repeat(65) })).toEqual(['ResearchName is longer than 64 characters.']);
  });

  it('refuses wildcards in AccessionNumber and ResearchID, allows them in StudyDescription', () => {
    expect(errorsOf({ patientId: '1', accessionNumber: 'A*' })).toEqual(['AccessionNumber must not contain * or ?: values are matched exactly.']);
    expect(errorsOf({ patientId: '1', researchId: 'R?' })).toEqual(['ResearchID must not contain * or ?: it becomes the patient ID in the pool.']);
    expect(validateQueryRow({ patientId: '1', studyDescription: 'XR CHEST ?PNEUMONIA *' }).ok).toBe(true);
    expect(errorsOf({ patientId: '1', studyDescription: 'A\\B' })).toEqual([
      'StudyDescription must not contain a backslash (\\): DICOM uses it to separate values.',
    ]);
  });

  it('accepts modality lists in several notations and refuses unknown codes', () => {
    const modality = (m: string) => queryRowSchema.parse({ patientId: '1', modality: m }).modality;
    expect(modality('CT')).toBe('CT');
    expect(modality('ct')).toBe('CT');
    expect(modality('CT\\MR')).toBe('CT\\MR');
    expect(modality('CT, MR')).toBe('CT\\MR');
    expect(modality('CT;MR/PT')).toBe('CT\\MR\\PT');
    expect(modality('MR MR')).toBe('MR');
    expect(errorsOf({ patientId: '1', modality: 'MRI' })).toEqual(['Modality: write MR instead of MRI (DICOM modality codes).']);
    expect(errorsOf({ patientId: '1', modality: 'CT, BRAIN' })).toEqual([
      'Modality must be DICOM modality codes such as CT, MR, US, CR, DX, MG, PT, NM or XA; separate several with commas.',
    ]);
  });

  it('parses dates: ISO, compact and year-first; refuses day/month-first as ambiguous', () => {
    expect(parseStudyDate('2024-03-15')).toEqual({ ok: true, value: '20240315' });
    expect(parseStudyDate('2024-3-5')).toEqual({ ok: true, value: '20240305' });
    expect(parseStudyDate('2024/03/15')).toEqual({ ok: true, value: '20240315' });
    expect(parseStudyDate('20240315')).toEqual({ ok: true, value: '20240315' });
    expect(parseStudyDate('2024-03-15T13:45:00Z')).toEqual({ ok: true, value: '20240315' });
    expect(parseStudyDate('2024-03-15 00:00:00')).toEqual({ ok: true, value: '20240315' });
    expect(parseStudyDate('03/04/2024')).toEqual({ ok: false, reason: 'ambiguous' });
    expect(parseStudyDate('25.12.2024')).toEqual({ ok: false, reason: 'ambiguous' });
    expect(parseStudyDate('3-4-24')).toEqual({ ok: false, reason: 'ambiguous' });
    expect(parseStudyDate('15 March 2024')).toEqual({ ok: false, reason: 'format' });
    expect(parseStudyDate('2024-02-30')).toEqual({ ok: false, reason: 'calendar' });
    expect(parseStudyDate('2023-02-29')).toEqual({ ok: false, reason: 'calendar' });
    expect(parseStudyDate('2024-02-29')).toEqual({ ok: true, value: '20240229' });
    expect(parseStudyDate('20241301')).toEqual({ ok: false, reason: 'calendar' });
    expect(parseStudyDate('1899-12-31')).toEqual({ ok: false, reason: 'range' });
  });

  it('explains bad dates and checks From ≤ To', () => {
    expect(errorsOf({ patientId: '1', studyDateFrom: '03/04/2024' })).toEqual([
      'StudyDateFrom: a date like 03/04/2024 is ambiguous (day or month first?). Write it as YYYY-MM-DD, e.g. 2024-04-03, or use a date cell.',
    ]);
    expect(errorsOf({ patientId: '1', studyDateTo: 'yesterday' })).toEqual([
      'StudyDateTo is not a date: use YYYY-MM-DD (e.g. 2024-04-03), YYYYMMDD, or a date cell.',
    ]);
    expect(errorsOf({ patientId: '1', studyDateFrom: '2024-02-01', studyDateTo: '2024-01-31' })).toEqual(['StudyDateFrom is after StudyDateTo.']);
    expect(queryRowSchema.parse({ patientId: '1', studyDateFrom: '2024-02-01', studyDateTo: '2024-02-01' })).toEqual({
      patientId: '1',
      studyDateFrom: '20240201',
      studyDateTo: '20240201',
    });
  });

  it('reports every problem of a row at once, with the field each belongs to', () => {
    const result = validateQueryRow({ patientId: '*', modality: 'XRAY', studyDateFrom: '2024-02-30', researchName: 'A=B' });
    expect(result).toEqual({
      ok: false,
      errors: [
        'PatientID must not contain * or ?: a wildcard would match many patients.',
        'Modality: write CR or DX instead of XRAY (DICOM modality codes).',
        'StudyDateFrom is not a real calendar date.',
        'ResearchName must not contain "=".',
      ],
      fieldErrors: {
        patientId: ['PatientID must not contain * or ?: a wildcard would match many patients.'],
        modality: ['Modality: write CR or DX instead of XRAY (DICOM modality codes).'],
        studyDateFrom: ['StudyDateFrom is not a real calendar date.'],
        researchName: ['ResearchName must not contain "=".'],
      },
    });
  });

  it('keeps ResearchName PN-safe', () => {
    expect(validateQueryRow({ patientId: '1', researchName: "O'Brien^Anne-Marie" }).ok).toBe(true);
    expect(errorsOf({ patientId: '1', researchName: 'A^B^C^D^E^F' })).toEqual(['ResearchName has more than five ^-separated name parts.']);
    expect(errorsOf({ patientId: '1', researchName: 'SUBJ*' })).toEqual(['ResearchName must not contain * or ?: a pseudonym is written as is.']);
  });

  it('rejects non-string values from JSON clients with a field message', () => {
    expect(validateQueryRow({ patientId: 12345 })).toEqual({
      ok: false,
      errors: ['PatientID must be text.'],
      fieldErrors: { patientId: ['PatientID must be text.'] },
    });
  });
});
