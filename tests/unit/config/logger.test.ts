import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger, redact } from '@/lib/logger';

describe('PHI-safe logger', () => {
  afterEach(() => vi.restoreAllMocks());

  it('redacts identity-like fields as a second line of defence', () => {
    const out = redact({ patientName: 'DOE^JANE', PatientID: '0012345', mrn: '1', birthDate: '19700101', accessionNumber: 'A1', studyInstanceUid: '1.2.3', retrievalId: 'r1', count: 3 });
    expect(out).toEqual({ patientName: '[redacted]', PatientID: '[redacted]', mrn: '[redacted]', birthDate: '[redacted]', accessionNumber: '[redacted]', studyInstanceUid: '[redacted]', retrievalId: 'r1', count: 3 });
  });

  it('writes JSON lines without the redacted values', () => {
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    logger('t').warn('x', { patientId: '0012345', retrievalId: 'r1' });
    const line = String(spy.mock.calls[0][0]);
    expect(JSON.parse(line)).toMatchObject({ level: 'warn', scope: 't', msg: 'x', retrievalId: 'r1', patientId: '[redacted]' });
    expect(line).not.toContain('0012345');
  });
});
