/**
 * Signed receipts (docs/exports.md, "Receipts"). An export's receipt: 'pool:read', any member
 * who may read the pool (it carries research UIDs and hashes only). The installation's public
 * key: any signed-in user, so recipients can be given the key to pin.
 */
import { z } from 'zod';
import { e, type Endpoint } from '../endpoint';

const id = z.string().min(1).max(64);

export const receiptEndpoints = {
  getExportReceipt: e({ method: 'get', path: '/pools/{id}/exports/{exportId}/receipt', summary: 'The signed receipt (tributary-receipt/1 JSON) of an export’s latest attempt: destination, pool, rule versions and, per instance, research UIDs, transfer syntax, SHA-256 of the bytes sent, state and storage commitment. 409 while the export has not finished', tag: 'exports', access: 'pool:read', params: z.object({ id, exportId: id }), produces: 'application/json' }),
  getReceiptPublicKey: e({ method: 'get', path: '/receipts/public-key', summary: 'The installation’s receipt signing key: key id, SPKI PEM and SHA-256 fingerprint, to pin when verifying receipts', tag: 'exports', access: 'signed-in' }),
} satisfies Record<string, Endpoint>;
