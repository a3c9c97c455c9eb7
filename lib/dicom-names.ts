/** Validation of DICOM network names shared by every form and API (devices, pools). */
import { z } from 'zod';

/**
 * AE title: 1-16 characters of the default character repertoire, no backslash or control
 * characters, not only spaces (PS3.5 6.2, VR AE). Leading/trailing spaces are not significant,
 * so we trim them.
 */
export const aeTitleSchema = z
  .string()
  .trim()
  .min(1, 'AE title is required')
  .max(16, 'AE title must be at most 16 characters')
  .regex(/^[\x20-\x5B\x5D-\x7E]+$/, 'AE title may not contain a backslash or control characters');

export const hostSchema = z
  .string()
  .trim()
  .min(1, 'Host is required')
  .max(253)
  .regex(/^[A-Za-z0-9.:\-_[\]]+$/, 'Host must be a host name or an IP address');

export const portSchema = z.coerce.number().int('Port must be a whole number').min(1, 'Port must be 1-65535').max(65535, 'Port must be 1-65535');
