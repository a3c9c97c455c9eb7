'use client';
/**
 * Small client-side building blocks shared by the admin and account forms: one hook that runs
 * an API call with busy/error/field-error state, and the bits that render those errors next to
 * their inputs. Only browser-safe imports here.
 */
import { useCallback, useId, useState } from 'react';
import type { ApiResult } from '@/components/api-client';

export type Fields = Record<string, string[]>;

/**
 * One message per field: the first problem zod (or the API) found, which is the one to fix first
 * ("required" rather than "required. too short. not a host name."). Forms show it under the input.
 */
export function oneMessagePerField(fields: Fields): Fields {
  return Object.fromEntries(Object.entries(fields).filter(([, m]) => m.length).map(([k, m]) => [k, [m[0]]]));
}

export function useApiAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Fields>({});

  const reset = useCallback(() => {
    setError(null);
    setFields({});
  }, []);

  /** Runs the call; returns the data on success, undefined on failure (error and fields are set). */
  const run = useCallback(async <T,>(call: () => Promise<ApiResult<T>>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    setFields({});
    try {
      const res = await call();
      if (!res.ok) {
        setError(res.error.message);
        setFields(oneMessagePerField(res.error.fields ?? {}));
        return undefined;
      }
      return res.data;
    } finally {
      setBusy(false);
    }
  }, []);

  /** Client-side validation failed: show the field errors without calling the API. */
  const invalid = useCallback((f: Fields) => {
    setError(null);
    setFields(oneMessagePerField(f));
  }, []);

  return { busy, error, fields, run, reset, invalid, setError };
}

/**
 * Props that bind an input to its label and its error message:
 * `<label htmlFor={f.id('name')}>` … `<input {...f.input('name')} />` … `{f.error('name')}`.
 */
export function useFieldBinder(fields: Fields) {
  const prefix = useId();
  const id = (name: string) => `${prefix}-${name}`;
  return {
    id,
    input: (name: string, className = '') => ({
      id: id(name),
      name,
      className: `input ${className} ${fields[name] ? 'input-error' : ''}`.trim(),
      'aria-invalid': fields[name] ? true : undefined,
      'aria-describedby': fields[name] ? `${id(name)}-error` : undefined,
    }),
    error: (name: string) =>
      fields[name] ? (
        <p id={`${id(name)}-error`} className="field-error">
          {fields[name][0]}
        </p>
      ) : null,
  };
}

/** Errors the form cannot attach to one of its inputs (e.g. "members.0.role"). */
export function OtherFieldErrors({ fields, known }: { fields: Fields; known: string[] }) {
  const rest = Object.entries(fields).filter(([k]) => !known.includes(k));
  if (!rest.length) return null;
  return (
    <ul className="field-error list-inside list-disc">
      {rest.map(([k, m]) => (
        <li key={k}>
          {k === '_' ? '' : `${k}: `}
          {m[0]}
        </li>
      ))}
    </ul>
  );
}

export function FormAlert({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p role="alert" className="rounded-md border border-rose-200 bg-rose-50 px-2.5 py-1.5 text-sm text-rose-800">
      {message}
    </p>
  );
}

export function Spinner({ className = '' }: { className?: string }) {
  return (
    <span
      aria-hidden="true"
      className={`inline-block h-3.5 w-3.5 animate-spin rounded-full border-2 border-current border-r-transparent align-[-2px] ${className}`}
    />
  );
}

/** Escape cancels an edit form. */
export function escapeCancels(onCancel?: () => void) {
  return (e: React.KeyboardEvent) => {
    if (e.key === 'Escape' && onCancel) {
      e.preventDefault();
      onCancel();
    }
  };
}

export function str(v: FormDataEntryValue | null): string {
  return typeof v === 'string' ? v : '';
}
