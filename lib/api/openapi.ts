/** /api/v1/openapi.json, generated from the contract's zod schemas. */
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { env } from '../env';
import { api, type Endpoint } from './contract';

const ACCESS_TEXT: Record<Endpoint['access'], string> = {
  public: 'No authentication.',
  'signed-in': 'Any signed-in user or API token.',
  admin: 'Administrators only.',
  'pool:read': 'Members of the pool (any pool role), admins, or a token scoped to the pool. Others get 404.',
  'pool:coordinate': 'Pool owners and coordinators, and admins. Other members get 403, non-members 404.',
  'pool:own': 'Pool owners and admins.',
  'pool:rules': 'Pool owners only (not admins): saving rules decides what identity reaches researchers.',
  'pool:identity': 'Pool owners only (not admins).',
  'pool:export': 'Pool owners and researchers (membership, not the admin role); never a pool-scoped token.',
};

export function buildOpenApi() {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'API token (tributary token create)' });
  registry.registerComponent('securitySchemes', 'session', { type: 'apiKey', in: 'cookie', name: 'next-auth.session-token' });
  for (const [operationId, ep] of Object.entries(api) as [string, Endpoint][]) {
    registry.registerPath({
      method: ep.method,
      path: ep.path,
      operationId,
      summary: ep.summary,
      description: ACCESS_TEXT[ep.access],
      tags: [ep.tag],
      security: ep.auth === 'none' ? [] : [{ bearer: [] }, { session: [] }],
      request: {
        params: ep.params as never,
        query: ep.query as never,
        body: ep.body ? { content: { 'application/json': { schema: ep.body } } } : undefined,
      },
      responses: {
        [ep.status ?? 200]: { description: ep.produces ? `Binary (${ep.produces})` : 'JSON' },
        401: { description: 'Not signed in' },
        403: { description: 'Role does not allow this' },
        404: { description: 'Not found, or not visible to the caller' },
        422: { description: 'Validation failed: { error: { code, message, fields } }' },
      },
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Tributary API', version: '1', description: 'Research imaging broker. JSON over HTTPS; errors are { error: { code, message, fields? } }.' },
    servers: [{ url: `${env().PUBLIC_URL}/api/v1` }],
  });
}
