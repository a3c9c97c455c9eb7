import { z } from 'zod';
import { patchSchema } from '../patch-schema';
import { aeTitleSchema, hostSchema, portSchema } from '../dicom-names';

const ADDRESS_FORMS = [z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()];

/** One IPv4/IPv6 address or CIDR range (10.1.2.3, 10.1.2.0/24, 2001:db8::/32). */
export const isDeviceAddress = (s: string) => ADDRESS_FORMS.some((f) => f.safeParse(s).success);

/**
 * Addresses a device may call our SCP from besides what its host resolves to (a PACS cluster,
 * a NAT gateway). One error for the whole list, naming the entries that are not addresses, so
 * the form shows it under its one field.
 */
export const deviceAddressesSchema = z
  .array(z.string().trim())
  .max(64, 'At most 64 addresses or ranges')
  .transform((list) => [...new Set(list.filter(Boolean))])
  .superRefine((list, ctx) => {
    const bad = list.filter((a) => !isDeviceAddress(a));
    if (bad.length)
      ctx.addIssue({ code: 'custom', message: `Not an IP address or CIDR range (e.g. 10.1.2.3, 10.1.2.0/24, 2001:db8::/32): ${bad.slice(0, 5).join(', ')}` });
  });

/** The admin form's one text field: addresses separated by spaces, commas or new lines. */
export const splitAddresses = (text: string) => text.split(/[\s,;]+/).filter(Boolean);

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const PEM_KEY = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/** One or more PEM certificates; "" = none. (Parsed for real on the server: lib/devices/tls.ts.) */
const pemCertificates = z
  .string()
  .trim()
  .max(200_000, 'At most 200 KB of certificates')
  .refine((v) => v === '' || PEM_CERT.test(v), 'Paste PEM certificates (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)');

/** TLS protocol floors we offer: 1.2 is the lowest DICOM (PS3.15 B.9) and we accept. */
export const TLS_MIN_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

/**
 * DICOM TLS settings of a device (used when `tls` is on). The private key is write-only: send it
 * to set or replace it, `null` or "" to clear it, leave it out to keep it; responses carry
 * `tlsClientKeyState` ("set" / "not set") instead.
 */
export const deviceTlsSchema = z.object({
  tlsCaCertificates: pemCertificates.default(''),
  tlsClientCertificate: pemCertificates.default(''),
  tlsClientKey: z
    .string()
    .trim()
    .max(100_000)
    .refine((v) => v === '' || PEM_KEY.test(v), 'Paste an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- …)')
    .refine((v) => !/ENCRYPTED PRIVATE KEY/.test(v), 'The key must not be passphrase-protected (it is stored encrypted by Tributary)')
    .nullable()
    .optional()
    .describe('Write-only: a PEM key sets or replaces it, null or "" clears it, absent keeps it. Never returned: responses carry tlsClientKeyState.'),
  tlsMinVersion: z.enum(TLS_MIN_VERSIONS, { message: 'TLS 1.2 or TLS 1.3' }).default('TLSv1.2'),
  tlsCiphers: z
    .string()
    .trim()
    .max(2000)
    .regex(/^[A-Za-z0-9_+!@=:.,\- ]*$/, 'An OpenSSL cipher list, e.g. ECDHE-RSA-AES256-GCM-SHA384:TLS_AES_256_GCM_SHA384')
    .default(''),
  tlsRequireClientCertificate: z.boolean().default(true),
});

export const deviceInputSchema = z.object({
  name: z.string().trim().min(1, 'Name is required').max(80),
  aeTitle: aeTitleSchema,
  host: hostSchema,
  port: portSchema,
  tls: z.boolean().default(false),
  addresses: deviceAddressesSchema.default([]),
  description: z.string().trim().max(500).default(''),
  ...deviceTlsSchema.shape,
});
export type DeviceInput = z.infer<typeof deviceInputSchema>;
export const devicePatchSchema = patchSchema(deviceInputSchema);

export const deviceSchema = deviceInputSchema
  .omit({ tlsClientKey: true })
  .extend({ id: z.string(), createdAt: z.string(), tlsClientKeyState: z.enum(['set', 'not set']) });
