import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { dimse } from '@/lib/dicom/dimse';
import { isPatched } from '@/lib/dicom/patch';
import { DicomQueryError, studyQueryKeys } from '@/lib/dicom/scu';

describe('study query keys', () => {
  it('maps a coordinator query to C-FIND keys', () => {
    expect(
      studyQueryKeys({ patientId: ' 0012345 ', accessionNumber: 'A1', modality: 'mr', studyDateFrom: '2019-01-01', studyDateTo: '20191231', studyDescription: 'brain' }),
    ).toEqual({
      PatientID: '0012345',
      AccessionNumber: 'A1',
      ModalitiesInStudy: 'MR',
      StudyDate: '20190101-20191231',
      StudyDescription: '*brain*',
    });
    expect(studyQueryKeys({ patientId: '0012345', studyDateFrom: '20190101' }).StudyDate).toBe('20190101-');
    expect(studyQueryKeys({ patientId: '0012345', studyDateTo: '20190101' }).StudyDate).toBe('-20190101');
    expect(studyQueryKeys({ patientId: '0012345', studyDescription: '*ct*' }).StudyDescription).toBe('*ct*');
  });

  it('refuses queries that would match other patients or are malformed', () => {
    for (const patientId of ['', '   ', '*', '00123*', '0012?45', '001\\002']) {
      expect(() => studyQueryKeys({ patientId }), patientId).toThrow(DicomQueryError);
    }
    expect(() => studyQueryKeys({ patientId: '1', accessionNumber: 'A*' })).toThrow(DicomQueryError);
    expect(() => studyQueryKeys({ patientId: '1', studyDateFrom: '2019-1-1' })).toThrow(/YYYYMMDD/);
    expect(() => studyQueryKeys({ patientId: '1', studyDateFrom: '20200101', studyDateTo: '20190101' })).toThrow(/reversed/);
    expect(() => studyQueryKeys({ patientId: '1', modality: 'C*' })).toThrow(DicomQueryError);
  });
});

describe('dcmjs-dimse runtime patch', () => {
  it('is installed and active once lib/dicom is imported', () => {
    expect(isPatched()).toBe(true);
  });

  it("silences dcmjs-dimse's logger and its bundled dcmjs logger (PHI in unknown-tag warnings)", () => {
    const SILENT = 5;
    expect(dimse.log.getLevel()).toBe(SILENT);
    const bundled = createRequire(createRequire(import.meta.url).resolve('dcmjs-dimse'))('dcmjs') as { log: { getLevel(): number } };
    expect(bundled.log.getLevel()).toBe(SILENT);
  });
});
