/**
 * Configuration, parsed once at start with zod. Nothing else in the code reads process.env
 * for settings (tests and scripts may set it before import).
 *
 * Security rule: outside demo/test mode there is no default secret; start-up fails with a
 * readable message instead.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { checkKeyPair, parseCertificates } from './dicom/tls';

const DEMO_SECRET = 'tributary-demo-secret-not-for-production-use';

/** Reads a configured PEM file, reporting an unreadable one against its variable. */
function readPem(file: string, name: string, ctx: z.RefinementCtx): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    ctx.addIssue({ code: 'custom', path: [name], message: `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
    return undefined;
  }
}

/** DICOM TLS files: readable, parseable, the key matching the certificate. */
function checkTlsFiles(
  v: { DICOM_TLS_PORT?: number; DICOM_TLS_CERT?: string; DICOM_TLS_KEY?: string; DICOM_TLS_CA?: string; DICOM_PORT: number },
  ctx: z.RefinementCtx,
) {
  if (v.DICOM_TLS_PORT !== undefined) {
    if (!v.DICOM_TLS_CERT) ctx.addIssue({ code: 'custom', path: ['DICOM_TLS_CERT'], message: 'is required when DICOM_TLS_PORT is set (PEM certificate file)' });
    if (!v.DICOM_TLS_KEY) ctx.addIssue({ code: 'custom', path: ['DICOM_TLS_KEY'], message: 'is required when DICOM_TLS_PORT is set (PEM private key file)' });
    if (v.DICOM_TLS_PORT === v.DICOM_PORT) ctx.addIssue({ code: 'custom', path: ['DICOM_TLS_PORT'], message: 'must differ from DICOM_PORT' });
  }
  if (!!v.DICOM_TLS_CERT !== !!v.DICOM_TLS_KEY && v.DICOM_TLS_PORT === undefined)
    ctx.addIssue({ code: 'custom', path: [v.DICOM_TLS_CERT ? 'DICOM_TLS_KEY' : 'DICOM_TLS_CERT'], message: 'DICOM_TLS_CERT and DICOM_TLS_KEY go together' });
  const cert = v.DICOM_TLS_CERT ? readPem(v.DICOM_TLS_CERT, 'DICOM_TLS_CERT', ctx) : undefined;
  const key = v.DICOM_TLS_KEY ? readPem(v.DICOM_TLS_KEY, 'DICOM_TLS_KEY', ctx) : undefined;
  if (cert !== undefined) {
    try {
      const [leaf] = parseCertificates(cert, 'the certificate');
      if (new Date(leaf.validTo) < new Date()) ctx.addIssue({ code: 'custom', path: ['DICOM_TLS_CERT'], message: `the certificate expired on ${leaf.validTo}` });
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['DICOM_TLS_CERT'], message: (e as Error).message });
    }
  }
  if (cert !== undefined && key !== undefined) {
    try {
      checkKeyPair(cert, key, 'the certificate of DICOM_TLS_CERT');
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['DICOM_TLS_KEY'], message: (e as Error).message });
    }
  }
  if (v.DICOM_TLS_CA) {
    const ca = readPem(v.DICOM_TLS_CA, 'DICOM_TLS_CA', ctx);
    if (ca !== undefined) {
      try {
        parseCertificates(ca, 'the CA file');
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['DICOM_TLS_CA'], message: (e as Error).message });
      }
    }
  }
}

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
    /** DICOM TLS listener of the SCP (same pools, same rules, TLS 1.2+); unset = no TLS port. */
    DICOM_TLS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    /** PEM files: our certificate and its key (the TLS port's, and our client certificate towards TLS devices without their own). */
    DICOM_TLS_CERT: z.string().optional(),
    DICOM_TLS_KEY: z.string().optional(),
    /** PEM file of CA certificates whose client certificates the TLS port accepts (besides each device's own CA). */
    DICOM_TLS_CA: z.string().optional(),
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
    /**
     * 1 (default): a retrieval's instances are de-identified while the move still runs
     * (lib/retrievals/pipeline.ts); 0: only after the move has ended (the anonymize step).
     */
    RETRIEVE_PIPELINE: z.enum(['0', '1']).default('1').transform((v) => v === '1'),
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
    /**
     * Outgoing mail for notifications (lib/notifications/email.ts): smtp://user:pass@host:587
     * (STARTTLS when the server offers it) or smtps://…:465. Unset = in-app notifications only.
     */
    SMTP_URL: z
      .string()
      .refine((v) => {
        try {
          const u = new URL(v);
          return (u.protocol === 'smtp:' || u.protocol === 'smtps:') && !!u.hostname;
        } catch {
          return false;
        }
      }, 'must be a URL like smtp://user:password@mail.hospital.example:587 or smtps://…:465')
      .optional(),
    /** Sender of notification e-mails, e.g. "Tributary <tributary@hospital.example>"; required with SMTP_URL. */
    SMTP_FROM: z
      .string()
      .refine((v) => /^[^<>@\s]+@[^<>@\s]+$/.test(v.trim()) || /^[^<>]*<[^<>@\s]+@[^<>@\s]+>$/.test(v.trim()), 'must be an address, or "Name <address>"')
      .optional(),
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
    checkTlsFiles(v, ctx);
    if (v.SMTP_URL && !v.SMTP_FROM) ctx.addIssue({ code: 'custom', path: ['SMTP_FROM'], message: 'is required when SMTP_URL is set (the sender address)' });
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
