import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnv } from '@/lib/env';

describe('configuration is validated at start', () => {
  it('refuses production without a secret, naming the variable', () => {
    expect(() => loadEnv({ TRIBUTARY_MODE: 'production', DATABASE_URL: 'postgresql://x@h/db' })).toThrow(ConfigError);
    expect(() => loadEnv({ TRIBUTARY_MODE: 'production', DATABASE_URL: 'postgresql://x@h/db' })).toThrow(/TRIBUTARY_SECRET/);
  });

  it('refuses a short secret, the demo secret and a missing database in production', () => {
    expect(() => loadEnv({ TRIBUTARY_MODE: 'production', DATABASE_URL: 'postgresql://x@h/db', TRIBUTARY_SECRET: 'short' })).toThrow(/at least 32/);
    expect(() => loadEnv({ TRIBUTARY_MODE: 'production', DATABASE_URL: 'postgresql://x@h/db', TRIBUTARY_SECRET: 'tributary-demo-secret-not-for-production-use' })).toThrow(/demo secret/);
    expect(() => loadEnv({ TRIBUTARY_MODE: 'production', TRIBUTARY_SECRET: 'x'.repeat(40) })).toThrow(/DATABASE_URL/);
  });

  it('refuses malformed values with their names', () => {
    expect(() => loadEnv({ TRIBUTARY_MODE: 'demo', DICOM_PORT: '99999' })).toThrow(/DICOM_PORT/);
    expect(() => loadEnv({ TRIBUTARY_MODE: 'sandbox' })).toThrow(/TRIBUTARY_MODE/);
  });

  it('gives demo mode working defaults, production none', () => {
    const demo = loadEnv({ TRIBUTARY_MODE: 'demo' });
    expect(demo.DATABASE_URL).toMatch(/^postgresql:/);
    expect(demo.TRIBUTARY_SECRET.length).toBeGreaterThanOrEqual(32);
    const prod = loadEnv({ TRIBUTARY_MODE: 'production', DATABASE_URL: 'postgresql://x@h/db', TRIBUTARY_SECRET: 'y'.repeat(40), SECRETS_KEY: 'a'.repeat(64) });
    expect(prod.TRIBUTARY_SECRET).toBe('y'.repeat(40));
  });

  it('needs a 64-hex SECRETS_KEY in production (secrets at rest), none in demo', () => {
    const base = { TRIBUTARY_MODE: 'production', DATABASE_URL: 'postgresql://x@h/db', TRIBUTARY_SECRET: 'y'.repeat(40) };
    expect(() => loadEnv(base)).toThrow(/SECRETS_KEY/);
    expect(() => loadEnv({ ...base, SECRETS_KEY: 'abc' })).toThrow(/SECRETS_KEY: must be 64 hex/);
    expect(loadEnv({ ...base, SECRETS_KEY: 'b'.repeat(64) }).SECRETS_KEY).toBe('b'.repeat(64));
    expect(loadEnv({ TRIBUTARY_MODE: 'demo' }).SECRETS_KEY).toBeUndefined();
  });
});

describe('empty variables', () => {
  it('count as unset: demo mode gets its defaults (docker-compose passes `${TRIBUTARY_SECRET:-}` as "")', () => {
    const demo = loadEnv({ TRIBUTARY_MODE: 'demo', TRIBUTARY_SECRET: '', DICOM_PORT: '', REDIS_PREFIX: ' ' });
    expect(demo.TRIBUTARY_SECRET.length).toBeGreaterThanOrEqual(32);
    expect(demo.DICOM_PORT).toBe(11112);
    expect(demo.REDIS_PREFIX).toBe('tributary');
  });

  it('count as missing in production: an empty secret or database URL is refused, not accepted', () => {
    expect(() => loadEnv({ TRIBUTARY_MODE: 'production', DATABASE_URL: 'postgresql://x@h/db', TRIBUTARY_SECRET: '' })).toThrow(/TRIBUTARY_SECRET/);
    expect(() => loadEnv({ TRIBUTARY_MODE: 'production', DATABASE_URL: '', TRIBUTARY_SECRET: 'y'.repeat(40) })).toThrow(/DATABASE_URL/);
  });
});

describe('SMTP for notification e-mails', () => {
  it('is off by default, needs SMTP_FROM with SMTP_URL, and never echoes the URL (it holds a password)', () => {
    expect(loadEnv({ TRIBUTARY_MODE: 'demo' }).SMTP_URL).toBeUndefined();
    const ok = loadEnv({ TRIBUTARY_MODE: 'demo', SMTP_URL: 'smtp://u:pw@mail.example:587', SMTP_FROM: 'Tributary <t@h.example>' });
    expect(ok.SMTP_FROM).toBe('Tributary <t@h.example>');
    expect(() => loadEnv({ TRIBUTARY_MODE: 'demo', SMTP_URL: 'smtp://u:s3cret-pw@mail.example:587' })).toThrow(/SMTP_FROM: is required/);
    expect(() => loadEnv({ TRIBUTARY_MODE: 'demo', SMTP_URL: 'http://u:s3cret-pw@mail.example', SMTP_FROM: 't@h.example' })).toThrow(/SMTP_URL/);
    try {
      loadEnv({ TRIBUTARY_MODE: 'demo', SMTP_URL: 'ftp://u:s3cret-pw@mail.example', SMTP_FROM: 'nobody' });
    } catch (e) {
      expect(String(e)).toMatch(/SMTP_FROM: must be an address/);
      expect(String(e)).not.toContain('s3cret-pw');
    }
  });
});
