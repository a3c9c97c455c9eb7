/**
 * The contract is complete: every route file under app/api/v1 is an endpoint of
 * lib/api/contract.ts (so it is covered by the isolation test), every exported handler is built
 * by route() from the contract entry of its own method and path (so that entry's access rule
 * and schemas are what run), every endpoint has a route, and the OpenAPI document lists them all.
 */
import { describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { API_ROUTE } from '@/lib/api/handler';
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

  it('builds every exported handler with route() and its own endpoint', async () => {
    const byKey = new Map(Object.entries(api).map(([name, e]) => [`${e.method} ${e.path}`, { name, e }]));
    const files = (await routeFiles()).filter((r) => !META.has(`${r.method} ${r.template}`));
    expect(files.length).toBe(byKey.size);
    for (const r of files) {
      const handler = ((await import(r.file)) as Record<string, { [API_ROUTE]?: unknown }>)[r.method.toUpperCase()];
      const built = handler[API_ROUTE];
      expect(built, `${r.method.toUpperCase()} ${r.template} is not built by route() (lib/api/handler.ts)`).toBeDefined();
      const declared = byKey.get(`${r.method} ${r.template}`);
      expect(built === declared?.e, `${r.method.toUpperCase()} ${r.template} is built from another endpoint than api.${declared?.name}`).toBe(true);
    }
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
