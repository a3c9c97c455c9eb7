import { describe, expect, it } from 'vitest';
import { parseWarnings } from '@/lib/connectors/dicomweb/qido';
import { resolveRoot } from '@/lib/connectors/dicomweb/peer';
import { boundaryOf, wadoAccept, wadoPaths } from '@/lib/connectors/dicomweb/wado';
import { networkError, statusError } from '@/lib/http/client';

describe('DICOMweb request shapes', () => {
  it('resolves the roots against the base URL', () => {
    expect(resolveRoot('https://pacs.example.org/dicom-web', '')).toBe('https://pacs.example.org/dicom-web/');
    expect(resolveRoot('https://pacs.example.org/dcm4chee-arc/aets/DCM4CHEE', 'rs')).toBe('https://pacs.example.org/dcm4chee-arc/aets/DCM4CHEE/rs/');
    expect(resolveRoot('https://pacs.example.org/base/', '/qido')).toBe('https://pacs.example.org/base/qido/');
    expect(resolveRoot('https://pacs.example.org/base', 'https://other.example.org/wado')).toBe('https://other.example.org/wado/');
  });

  it('reads the Warning header in both the RFC 7234 and the PS3.18 forms', () => {
    expect(parseWarnings('299 orthanc: The fuzzymatching parameter is not supported. Only literal matching has been performed.')).toEqual([
      'The fuzzymatching parameter is not supported. Only literal matching has been performed.',
    ]);
    expect(parseWarnings('299 dcm4chee "Number of matches exceeds maximum"')).toEqual(['Number of matches exceeds maximum']);
    expect(parseWarnings(undefined)).toEqual([]);
  });

  it('builds WADO-RS paths and the Accept header, and reads the boundary', () => {
    expect(wadoPaths({ studyInstanceUid: '1.2' })).toEqual(['studies/1.2']);
    expect(wadoPaths({ studyInstanceUid: '1.2', seriesInstanceUid: '1.3' })).toEqual(['studies/1.2/series/1.3']);
    expect(wadoPaths({ studyInstanceUid: '1.2', seriesInstanceUid: '1.3', sopInstanceUids: ['1.4', '1.5'] })).toEqual(['studies/1.2/series/1.3/instances/1.4', 'studies/1.2/series/1.3/instances/1.5']);
    expect(wadoAccept('*')).toBe('multipart/related; type="application/dicom"; transfer-syntax=*');
    expect(boundaryOf('multipart/related; type="application/dicom"; boundary="abc 123"')).toBe('abc 123');
    expect(boundaryOf('multipart/related; boundary=xyz; type=application/dicom')).toBe('xyz');
    expect(boundaryOf('application/dicom')).toBeNull();
  });

  it('names failures clearly and says which are worth retrying', () => {
    expect(statusError(401, 'h:1', 'basic', false)).toMatchObject({ kind: 'auth', transient: false });
    expect(statusError(401, 'h:1', 'oauth2', false).message).toMatch(/freshly issued OAuth2 token/);
    expect(statusError(503, 'h:1', 'none', true)).toMatchObject({ kind: 'status', transient: true });
    expect(statusError(503, 'h:1', 'none', true).message).toBe('h:1 answered HTTP 503 with an HTML page');
    expect(statusError(404, 'h:1', 'none', false)).toMatchObject({ kind: 'not-found', transient: false });
    expect(networkError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'h:1')).toMatchObject({ kind: 'network', transient: true });
    expect(networkError(Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }), 'h:1')).toMatchObject({ kind: 'tls', transient: false });
    expect(networkError(Object.assign(new Error('x'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), 'h:1').message).toMatch(/self-signed.*CA bundle/);
  });
});
