import { afterEach, describe, expect, it, vi } from 'vitest';
import { DelayedError, UnrecoverableError } from 'bullmq';
import { AppError, errorSummary } from '@/lib/errors';
import { JobFailedError, jobFailure } from '@/lib/jobs/failure';
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

  it('logs an error by class, code and code location, never by its message', () => {
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const dbError = Object.assign(new Error('invalid input syntax for type integer: "0012345"'), {
      name: 'PrismaClientKnownRequestError',
      code: 'P2010',
      meta: { driverAdapterError: { cause: { originalCode: '22P02' } } },
    });
    logger('t').error('write failed', { err: dbError, other: new AppError('CONFLICT', 'ours') });
    const line = String(spy.mock.calls[0][0]);
    const parsed = JSON.parse(line);
    expect(parsed.err).toMatchObject({ class: 'PrismaClientKnownRequestError', code: 'P2010/22P02' });
    expect(parsed.err.at[0]).toMatch(/^at /);
    expect(parsed.other).toMatchObject({ class: 'AppError', code: 'CONFLICT' });
    expect(line).not.toContain('0012345');
    expect(line).not.toContain('invalid input syntax');
  });

  it('writes a nested error by class and code too (driver errors carry enumerable copies of the message)', () => {
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const driver = Object.assign(new Error('duplicate key (0012345)'), { name: 'DriverAdapterError', cause: { originalCode: '23505', originalMessage: 'Key (0012345) exists' } });
    logger('t').warn('x', { context: { step: 'store', errors: [driver] } });
    const line = String(spy.mock.calls[0][0]);
    expect(JSON.parse(line).context.errors[0]).toMatchObject({ class: 'DriverAdapterError', code: '23505' });
    expect(line).not.toContain('0012345');
  });

  it('keeps a code that is not a plain token out of the line', () => {
    const e = Object.assign(new Error('x'), { code: 'PATIENT 0012345' });
    expect(errorSummary(e, 0)).toEqual({ class: 'Error' });
  });
});

describe('job failure reasons', () => {
  it('turns a foreign error into our message with its class and code, and keeps our own messages', () => {
    const dbError = Object.assign(new Error('value "1.2.826.0.1.3680043.10.1078.5" violates check constraint'), { name: 'DriverAdapterError', cause: { originalCode: 'P0001' } });
    const out = jobFailure(dbError, 'retrieval.anonymize');
    expect(out).toBeInstanceOf(JobFailedError);
    expect(out.message).toBe('retrieval.anonymize failed (DriverAdapterError P0001)');
    expect(out.stack).not.toContain('1.2.826');
    expect((out as JobFailedError).code).toBe('DriverAdapterError:P0001');
    expect(jobFailure(new AppError('DICOM_NETWORK', 'Connection refused by 127.0.0.1:104'), 'query.find').message).toBe('Connection refused by 127.0.0.1:104');
  });

  it('lets BullMQ control errors through and keeps unrecoverable errors unrecoverable', () => {
    const delayed = new DelayedError();
    expect(jobFailure(delayed, 'query.find')).toBe(delayed);
    const u = jobFailure(new UnrecoverableError('bad "0012345"'), 'query.find');
    expect(u).toBeInstanceOf(UnrecoverableError);
    expect(u.message).not.toContain('0012345');
  });
});

