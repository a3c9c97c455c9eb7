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

export const deviceInputSchema = z.object({
  name: z.string().trim().min(1, 'Name is required').max(80),
  aeTitle: aeTitleSchema,
  host: hostSchema,
  port: portSchema,
  tls: z.boolean().default(false),
  addresses: deviceAddressesSchema.default([]),
  description: z.string().trim().max(500).default(''),
});
export type DeviceInput = z.infer<typeof deviceInputSchema>;
export const devicePatchSchema = patchSchema(deviceInputSchema);

export const deviceSchema = deviceInputSchema.extend({ id: z.string(), createdAt: z.string() });
