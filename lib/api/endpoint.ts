/** The shape of one REST endpoint in the contract (lib/api/contract.ts). */
import { z, type ZodType } from 'zod';

export type Access = 'public' | 'signed-in' | 'admin' | 'pool:read' | 'pool:coordinate' | 'pool:own' | 'pool:identity';

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
  /** Body is multipart/form-data (parsed by the handler itself). */
  multipart?: boolean;
  status?: number;
  /** Non-JSON responses (files, archives). */
  produces?: string;
}

export const e = <T extends Endpoint>(x: T) => x;

/** `{id}` path parameter: the resource named by the path's first segment. */
export const idParam = z.object({ id: z.string().min(1).max(64) });
