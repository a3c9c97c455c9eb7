/** The retrieve methods a DICOM connector may have, and the C-GET storage contexts within an association's limit. */
import { describe, expect, it } from 'vitest';
import { connectorInputSchema } from '@/lib/connectors/schema';
import { COMMON_STORAGE_CLASSES, MAX_PRESENTATION_CONTEXTS, getStorageContexts } from '@/lib/dicom/scu';
import { ACCEPTED_TRANSFER_SYNTAXES } from '@/lib/dicom/scp';

const base = { name: 'PACS', type: 'DICOM', deviceId: 'd', queryPoolId: 'q', receivingPoolId: 'r' };

describe('connector retrieve method', () => {
  it('accepts C-MOVE and C-GET for a DICOM connector', () => {
    expect(connectorInputSchema.safeParse({ ...base, retrieveMethod: 'CMOVE' }).success).toBe(true);
    const get = connectorInputSchema.safeParse({ ...base, retrieveMethod: 'CGET' });
    expect(get.success).toBe(true);
    expect(get.data?.retrieveMethod).toBe('CGET');
  });

  it('refuses WADO-RS on a DICOM connector with a message naming the field', () => {
    const r = connectorInputSchema.safeParse({ ...base, retrieveMethod: 'WADORS' });
    expect(r.success).toBe(false);
    expect(r.error?.issues.find((i) => i.path[0] === 'retrieveMethod')?.message).toMatch(/C-MOVE or C-GET/);
  });
});

describe('C-GET storage contexts', () => {
  it('proposes each class uncompressed, then compressed syntaxes as far as the limit allows', () => {
    const ctx = getStorageContexts(['1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.5.1.4.1.1.4'], ACCEPTED_TRANSFER_SYNTAXES);
    expect(ctx.length).toBeLessThanOrEqual(MAX_PRESENTATION_CONTEXTS - 1);
    expect(ctx.filter((c) => c.syntaxes.includes('1.2.840.10008.1.2.1'))).toHaveLength(2);
    // Every accepted compressed syntax fits for two classes.
    const compressed = ACCEPTED_TRANSFER_SYNTAXES.length - 2;
    expect(ctx).toHaveLength(2 + 2 * compressed);
  });

  it('never exceeds the association limit, however many classes', () => {
    const many = Array.from({ length: 200 }, (_, i) => `1.2.840.10008.5.1.4.1.1.${1000 + i}`);
    const ctx = getStorageContexts(many, ACCEPTED_TRANSFER_SYNTAXES);
    expect(ctx.length).toBe(MAX_PRESENTATION_CONTEXTS - 1);
    const some = getStorageContexts(COMMON_STORAGE_CLASSES, ACCEPTED_TRANSFER_SYNTAXES);
    expect(some.length).toBeLessThanOrEqual(MAX_PRESENTATION_CONTEXTS - 1);
    expect(new Set(some.map((c) => c.abstract)).size).toBe(COMMON_STORAGE_CLASSES.length);
  });
});
