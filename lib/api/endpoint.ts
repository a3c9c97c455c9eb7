/** The shape of one REST endpoint in the contract (lib/api/contract.ts). */
import { z, type ZodType } from 'zod';

export type Access = 'public' | 'signed-in' | 'admin' | 'pool:read' | 'pool:coordinate' | 'pool:own' | 'pool:rules' | 'pool:identity' | 'pool:export';

export interface Endpoint {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  path: string;
  summary: string;
  tag: string;
  access: Access;
  auth?: 'none';
  params?: ZodType;
  query?: ZodType;
  body?: ZodType;
  /** Body is multipart/form-data: text fields become the body, files reach the handler. */
  multipart?: boolean;
  /** Largest multipart upload, when it differs from UPLOAD_MAX_BYTES (e.g. DICOM samples). */
  maxUploadBytes?: number;
  status?: number;
  /** Non-JSON responses (files, archives). */
  produces?: string;
}

export const e = <T extends Endpoint>(x: T) => x;

/** `{id}` path parameter: the resource named by the path's first segment. */
export const idParam = z.object({ id: z.string().min(1).max(64) });
