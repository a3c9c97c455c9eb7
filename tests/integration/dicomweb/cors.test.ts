/**
 * CORS for a viewer on another origin: only origins listed in DICOMWEB_CORS_ORIGINS get
 * Access-Control-Allow-Origin (on answers and errors alike, so the viewer can read the status),
 * preflights allow the Authorization header, and cookies are never allowed cross-origin.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.DICOMWEB_CORS_ORIGINS = 'https://viewer.example.org, http://localhost:3001';
});

import { createApiToken } from '@/lib/auth/tokens';
import { ConfigError, loadEnv } from '@/lib/env';
import { makePool, makeUser } from '../../helpers/fixtures';
import { dw } from './helpers';

let poolId: string;
let token: string;

beforeAll(async () => {
  const u = await makeUser('RESEARCHER');
  poolId = (await makePool({ members: [{ userId: u.id, role: 'RESEARCHER' }] })).id;
  token = (await createApiToken({ userId: u.id, name: 'ohif', poolId })).token;
});

describe('DICOMweb CORS', () => {
  it('answers a preflight from an allowed origin, allowing the Authorization header', async () => {
    const res = await dw('OPTIONS', `/dicomweb/${poolId}/studies`, {
      headers: { origin: 'https://viewer.example.org', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization,accept' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://viewer.example.org');
    expect(res.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/GET/);
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toBe('Origin');
  });

  it('adds the origin to answers and errors for allowed origins only', async () => {
    const ok = await dw('GET', `/dicomweb/${poolId}/studies`, { token, headers: { origin: 'http://localhost:3001' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:3001');
    expect(ok.headers.get('access-control-expose-headers')).toMatch(/Warning/);
    const denied = await dw('GET', `/dicomweb/${poolId}/studies`, { headers: { origin: 'https://viewer.example.org' } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe('https://viewer.example.org');
    const other = await dw('GET', `/dicomweb/${poolId}/studies`, { token, headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await dw('OPTIONS', `/dicomweb/${poolId}/studies`, { headers: { origin: 'https://evil.example' } });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a malformed DICOMWEB_CORS_ORIGINS at start', () => {
    const base = { TRIBUTARY_MODE: 'test' };
    expect(() => loadEnv({ ...base, DICOMWEB_CORS_ORIGINS: 'viewer.example.org' })).toThrow(ConfigError);
    expect(() => loadEnv({ ...base, DICOMWEB_CORS_ORIGINS: 'https://viewer.example.org/path' })).toThrow(/DICOMWEB_CORS_ORIGINS/);
    expect(loadEnv({ ...base, DICOMWEB_CORS_ORIGINS: '' }).DICOMWEB_CORS_ORIGINS).toBe('');
    expect(loadEnv({ ...base, DICOMWEB_CORS_ORIGINS: '*' }).DICOMWEB_CORS_ORIGINS).toBe('*');
  });
});
