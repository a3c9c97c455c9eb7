/**
 * PATCH bodies: every field of the create schema optional, and no defaults. zod's `.partial()`
 * keeps `.default()`s, so `PATCH { name }` would come out with `kind: 'RESEARCH'` and
 * `description: ''` and silently reset them; here an absent field stays absent and the stored
 * value is kept. Shared by the UI (client-side validation) and the API.
 */
import { z } from 'zod';

type Unwrapped<S> = S extends z.ZodDefault<infer I> ? I : S;
export type PatchShape<T extends z.ZodRawShape> = { [K in keyof T]: z.ZodOptional<Unwrapped<T[K]>> };

export function patchSchema<T extends z.ZodRawShape>(create: z.ZodObject<T>): z.ZodObject<PatchShape<T>> {
  const shape = Object.fromEntries(
    Object.entries(create.shape).map(([k, v]) => [k, (v instanceof z.ZodDefault ? (v.unwrap() as z.ZodType) : (v as z.ZodType)).optional()]),
  );
  return z.object(shape) as unknown as z.ZodObject<PatchShape<T>>;
}
