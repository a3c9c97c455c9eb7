/**
 * Configuration, parsed once at start with zod. Nothing else in the code reads process.env
 * for settings (tests and scripts may set it before import).
 *
 * Security rule: outside demo/test mode there is no default secret; start-up fails with a
 * readable message instead.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const DEMO_SECRET = 'tributary-demo-secret-not-for-production-use';

const schema = z
  .object({
    TRIBUTARY_MODE: z.enum(['production', 'demo', 'test']).default('production'),
    DATABASE_URL: z.string().url().optional(),
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('tributary'),
    TRIBUTARY_SECRET: z.string().optional(),
    PUBLIC_URL: z.string().url().default('http://localhost:3000'),
    STORAGE_ROOT: z.string().default(path.join(process.cwd(), 'var', 'storage')),
    DICOM_PORT: z.coerce.number().int().min(1).max(65535).default(11112),
    /** Address the DICOM SCP listens on (e.g. the imaging VLAN's interface); default every interface. */
    DICOM_BIND: z.string().regex(/^[0-9A-Za-z.:_-]+$/, 'must be an IP address or host name').default('0.0.0.0'),
    /** Address the web app listens on (e.g. 127.0.0.1 behind a reverse proxy); default every interface. */
    HOST: z.string().regex(/^[0-9A-Za-z.:_-]+$/, 'must be an IP address or host name').default('0.0.0.0'),
    DICOM_ADVERTISED_HOST: z.string().default(os.hostname()),
    UPLOAD_MAX_BYTES: z.coerce.number().int().positive().default(5 * 1024 * 1024),
    STOW_MAX_BYTES: z.coerce.number().int().positive().default(2 * 1024 * 1024 * 1024),
    /** Origins allowed to call /dicomweb from a browser (a viewer on another origin), comma-separated; empty = no CORS. */
    DICOMWEB_CORS_ORIGINS: z
      .string()
      .default('')
      .refine(
        (v) => v.split(',').map((o) => o.trim()).filter(Boolean).every((o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o)),
        'must be origins like https://viewer.example.org (scheme://host[:port], no path), comma-separated, or *',
      ),
    STAGING_MAX_AGE_HOURS: z.coerce.number().positive().default(24),
    SIGNIN_MAX_ATTEMPTS: z.coerce.number().int().positive().default(10),
    SIGNIN_WINDOW_SECONDS: z.coerce.number().int().positive().default(900),
    /**
     * Reverse proxies in front of the web app that append to X-Forwarded-For (nginx
     * `proxy_add_x_forwarded_for`, a load balancer). 0 = none: X-Forwarded-For is ignored and the
     * sign-in limit per address uses the connection's own address (lib/auth/client-address.ts).
     */
    TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
    /** Lifetime of an API token when its creator does not choose one (days, at most 365). */
    API_TOKEN_DEFAULT_DAYS: z.coerce.number().int().min(1).max(365).default(90),
    /** Key for secrets at rest (AES-256-GCM), 64 hex characters; required outside demo/test mode (lib/secrets). */
    SECRETS_KEY: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (openssl rand -hex 32)').optional(),
    /** The key before the last rotation, while stored secrets are re-encrypted (`tributary secrets rotate`). */
    SECRETS_KEY_PREVIOUS: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters').optional(),
    DEMO_ADMIN_EMAIL: z.string().email().default('admin@tributary.local'),
    DEMO_ADMIN_PASSWORD: z.string().min(8).default('tributary-demo'),
    /** OCR of quarantined images (lib/ocr): how many tesseract processes one worker runs at once. */
    OCR_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
    /** Frames of a multi-frame object read by OCR at most (spread from first to last). */
    OCR_MAX_FRAMES: z.coerce.number().int().min(1).max(1000).default(8),
    /** Words below this tesseract confidence (0-100) are not boxes. */
    OCR_MIN_CONFIDENCE: z.coerce.number().min(0).max(100).default(30),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  })
  .superRefine((v, ctx) => {
    if (v.TRIBUTARY_MODE === 'production') {
      if (!v.TRIBUTARY_SECRET || v.TRIBUTARY_SECRET.length < 32)
        ctx.addIssue({
          code: 'custom',
          path: ['TRIBUTARY_SECRET'],
          message: 'must be set to a random string of at least 32 characters (e.g. `openssl rand -hex 32`) outside demo mode',
        });
      if (v.TRIBUTARY_SECRET === DEMO_SECRET)
        ctx.addIssue({ code: 'custom', path: ['TRIBUTARY_SECRET'], message: 'the demo secret cannot be used in production' });
      if (!v.SECRETS_KEY)
        ctx.addIssue({ code: 'custom', path: ['SECRETS_KEY'], message: 'must be set to 64 hex characters (openssl rand -hex 32) outside demo mode' });
      if (!v.DATABASE_URL) ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'is required outside demo mode' });
    }
  });

export type Env = z.infer<typeof schema> & { DATABASE_URL: string; TRIBUTARY_SECRET: string };

let cached: Env | undefined;

export class ConfigError extends Error {}

export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  // An empty variable (`FOO=` in a shell, `${FOO:-}` in docker-compose) means "not set": it gets
  // the default, and a required one is reported as missing rather than accepted as "".
  const set = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = schema.safeParse(set);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Tributary configuration is invalid:\n${lines.join('\n')}\nSee README.md, "Configuration".`);
  }
  const v = parsed.data;
  return {
    ...v,
    DATABASE_URL: v.DATABASE_URL ?? 'postgresql://tributary@127.0.0.1:5432/tributary',
    TRIBUTARY_SECRET: v.TRIBUTARY_SECRET ?? DEMO_SECRET,
  };
}

export function env(): Env {
  if (!cached) cached = loadEnv();
  return cached;
}

export const isDemo = () => env().TRIBUTARY_MODE === 'demo';
