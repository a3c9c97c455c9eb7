'use client';
/** Browser-side calls to /api/v1 with the session cookie; errors come back in one shape. */
import type { z, ZodType } from 'zod';

export interface ApiError {
  status: number;
  code: string;
  message: string;
  fields?: Record<string, string[]>;
}

export type ApiResult<T> = { ok: true; data: T } | { ok: false; error: ApiError };

export async function apiFetch<T = unknown>(path: string, init: { method?: string; body?: unknown; form?: FormData } = {}): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method: init.method ?? (init.body || init.form ? 'POST' : 'GET'),
      headers: init.body !== undefined ? { 'Content-Type': 'application/json' } : undefined,
      body: init.form ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined),
      credentials: 'same-origin',
    });
  } catch {
    return { ok: false, error: { status: 0, code: 'NETWORK', message: 'The server could not be reached. Check your connection and try again.' } };
  }
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    /* non-JSON error page */
  }
  if (!res.ok) {
    const err = (json as { error?: Omit<ApiError, 'status'> } | undefined)?.error;
    return { ok: false, error: { status: res.status, code: err?.code ?? 'HTTP', message: err?.message ?? `Request failed (${res.status})`, fields: err?.fields } };
  }
  return { ok: true, data: json as T };
}

/** Client-side validation with the same zod schema the API uses. */
export function validate<S extends ZodType>(schema: S, value: unknown): { ok: true; data: z.infer<S> } | { ok: false; fields: Record<string, string[]> } {
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, data: r.data };
  const fields: Record<string, string[]> = {};
  for (const i of r.error.issues) (fields[i.path.join('.') || '_'] ??= []).push(i.message);
  return { ok: false, fields };
}
