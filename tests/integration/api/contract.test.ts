/**
 * The contract is complete: every route file under app/api/v1 is an endpoint of
 * lib/api/contract.ts (so its access rule is applied by the handler wrapper and it is covered
 * by the isolation test), every endpoint has a route, and the OpenAPI document lists them all.
 */
import { describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { buildOpenApi } from '@/lib/api/openapi';
import { routeFiles } from '../../helpers/api';

// Served outside the contract: the OpenAPI document itself.
const META = new Set(['get /openapi.json']);

describe('REST contract', () => {
  it('matches the route files exactly', async () => {
    const files = (await routeFiles()).map((r) => `${r.method} ${r.template}`).filter((k) => !META.has(k)).sort();
    const declared = Object.values(api).map((e) => `${e.method} ${e.path}`).sort();
    expect(files).toEqual(declared);
  });

  it('is published as OpenAPI 3.1 with every path, method and access rule', () => {
    const doc = buildOpenApi() as unknown as { openapi: string; paths: Record<string, Record<string, { operationId: string; description: string }>> };
    expect(doc.openapi).toBe('3.1.0');
    for (const [name, e] of Object.entries(api)) {
      const op = doc.paths[e.path]?.[e.method];
      expect(op, `${e.method} ${e.path}`).toBeDefined();
      expect(op.operationId).toBe(name);
      expect(op.description.length).toBeGreaterThan(10);
    }
  });
});
