/**
 * CTP-style pixel signatures: device (manufacturer, model), SOP class, modality and image size
 * -> rectangles of burned-in text, kept as data in lib/ocr/data/pixel-signatures.json (format in
 * docs/deidentification.md, "Signature rules"). Validated when loaded: a bad file stops the
 * process at start, not a redaction.
 */
import { z } from 'zod';
import data from './data/pixel-signatures.json';

export const rectSchema = z.object({
  x: z.number().int().min(0),
  y: z.number().int().min(0),
  width: z.number().int().min(1),
  height: z.number().int().min(1),
});
export type Rect = z.infer<typeof rectSchema>;

const signatureRuleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9-]+$/),
    description: z.string(),
    match: z
      .object({
        manufacturer: z.string().min(1).optional(),
        model: z.string().min(1).optional(),
        sopClasses: z.array(z.string()).optional(),
        modalities: z.array(z.string()).optional(),
        rows: z.number().int().positive().optional(),
        columns: z.number().int().positive().optional(),
      })
      .strict(),
    regions: z.array(rectSchema).min(1),
  })
  .strict();
export type SignatureRule = z.infer<typeof signatureRuleSchema>;

export const signatureFileSchema = z.object({
  format: z.literal('tributary-pixel-signatures/1'),
  note: z.string().optional(),
  rules: z.array(signatureRuleSchema),
});

export const SIGNATURE_RULES: readonly SignatureRule[] = signatureFileSchema.parse(data).rules;

export interface SignatureFacts {
  manufacturer?: string;
  model?: string;
  sopClassUid: string;
  modality?: string;
  rows: number;
  columns: number;
}

const has = (hay: string | undefined, needle: string) => (hay ?? '').toUpperCase().includes(needle.toUpperCase());

/** The rules that match this instance, in file order. */
export function matchSignatures(f: SignatureFacts, rules: readonly SignatureRule[] = SIGNATURE_RULES): SignatureRule[] {
  return rules.filter((r) => {
    const m = r.match;
    if (m.manufacturer && !has(f.manufacturer, m.manufacturer)) return false;
    if (m.model && !has(f.model, m.model)) return false;
    if (m.sopClasses && !m.sopClasses.includes(f.sopClassUid)) return false;
    if (m.modalities && !m.modalities.includes((f.modality ?? '').toUpperCase())) return false;
    if (m.rows !== undefined && m.rows !== f.rows) return false;
    if (m.columns !== undefined && m.columns !== f.columns) return false;
    return true;
  });
}
