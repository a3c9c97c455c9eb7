/**
 * The REST API's contract: every endpoint under /api/v1 with its zod schemas and who may call
 * it. Route handlers are built from these entries (lib/api/handler.ts) and
 * /api/v1/openapi.json is generated from them, so the document cannot drift from the code.
 * tests/integration/api/contract.test.ts checks that every route file is listed here.
 */
import { z } from 'zod';
import { auditFilterSchema } from '../audit-log/filters';
import { connectorInputSchema } from '../connectors/schema';
import { deviceInputSchema, devicePatchSchema } from '../devices/schema';
import { QUEUES } from '../jobs/catalogue';
import { poolInputSchema, poolMemberInputSchema, poolPatchSchema, studyListQuerySchema } from '../pools/schema';
import { queryInputSchema, queryListQuerySchema, retrieveInputSchema } from '../queries/schema';
import { tokenInputSchema, userInputSchema, userPatchSchema } from '../users/schema';

import { type Endpoint, e, idParam as id } from './endpoint';
import { batchEndpoints } from './endpoints/batch';
import { cohortEndpoints } from './endpoints/cohorts';
import { browseEndpoints } from './endpoints/browse';
import { deidEndpoints } from './endpoints/deid';
import { exportEndpoints } from './endpoints/exports';
import { notificationEndpoints } from './endpoints/notifications';
import { poolMemberEndpoints } from './endpoints/pools';
import { viewerEndpoints } from './endpoints/viewers';

export type { Access, Endpoint } from './endpoint';

const poolStudy = z.object({ id: z.string().min(1).max(64), studyId: z.string().min(1).max(64) });
const poolInstance = z.object({ id: z.string().min(1).max(64), instanceId: z.string().min(1).max(64) });
const poolMember = z.object({ id: z.string().min(1).max(64), userId: z.string().min(1).max(64) });

export const api = {
  health: e({ method: 'get', path: '/health', summary: 'Liveness and dependencies', tag: 'system', access: 'public', auth: 'none' }),
  me: e({ method: 'get', path: '/me', summary: 'The signed-in user and their pools', tag: 'users', access: 'signed-in' }),

  listUsers: e({ method: 'get', path: '/users', summary: 'List users', tag: 'users', access: 'admin' }),
  createUser: e({ method: 'post', path: '/users', summary: 'Create a user', tag: 'users', access: 'admin', body: userInputSchema, status: 201 }),
  updateUser: e({ method: 'patch', path: '/users/{id}', summary: 'Update a user (role, active, password)', tag: 'users', access: 'admin', params: id, body: userPatchSchema }),

  listTokens: e({ method: 'get', path: '/tokens', summary: 'Your API tokens', tag: 'tokens', access: 'signed-in' }),
  createToken: e({ method: 'post', path: '/tokens', summary: 'Create an API token (shown once); optionally scoped to one pool', tag: 'tokens', access: 'signed-in', body: tokenInputSchema, status: 201 }),
  revokeToken: e({ method: 'delete', path: '/tokens/{id}', summary: 'Revoke an API token', tag: 'tokens', access: 'signed-in', params: id }),

  listDevices: e({ method: 'get', path: '/devices', summary: 'List DICOM devices', tag: 'devices', access: 'admin' }),
  createDevice: e({ method: 'post', path: '/devices', summary: 'Register a DICOM device', tag: 'devices', access: 'admin', body: deviceInputSchema, status: 201 }),
  getDevice: e({ method: 'get', path: '/devices/{id}', summary: 'Get a device', tag: 'devices', access: 'admin', params: id }),
  updateDevice: e({ method: 'patch', path: '/devices/{id}', summary: 'Update a device', tag: 'devices', access: 'admin', params: id, body: devicePatchSchema }),
  deleteDevice: e({ method: 'delete', path: '/devices/{id}', summary: 'Delete a device', tag: 'devices', access: 'admin', params: id }),

  listPools: e({ method: 'get', path: '/pools', summary: 'Pools visible to the caller', tag: 'pools', access: 'signed-in' }),
  createPool: e({ method: 'post', path: '/pools', summary: 'Create a pool', tag: 'pools', access: 'admin', body: poolInputSchema, status: 201 }),
  getPool: e({ method: 'get', path: '/pools/{id}', summary: 'Get a pool', tag: 'pools', access: 'pool:read', params: id }),
  updatePool: e({ method: 'patch', path: '/pools/{id}', summary: 'Update a pool', tag: 'pools', access: 'pool:own', params: id, body: poolPatchSchema }),
  deletePool: e({ method: 'delete', path: '/pools/{id}', summary: 'Delete a pool and its data', tag: 'pools', access: 'admin', params: id }),
  setPoolMembers: e({ method: 'put', path: '/pools/{id}/members', summary: 'Replace the pool members', tag: 'pools', access: 'pool:own', params: id, body: z.object({ members: z.array(poolMemberInputSchema).max(500) }) }),
  removePoolMember: e({ method: 'delete', path: '/pools/{id}/members/{userId}', summary: 'Remove a pool member (409 when it would leave the pool without an owner)', tag: 'pools', access: 'pool:own', params: poolMember }),
  listStudies: e({ method: 'get', path: '/pools/{id}/studies', summary: 'De-identified studies of a pool', tag: 'studies', access: 'pool:read', params: id, query: studyListQuerySchema }),
  getStudy: e({ method: 'get', path: '/pools/{id}/studies/{studyId}', summary: 'A study with its series and instances', tag: 'studies', access: 'pool:read', params: poolStudy }),
  getInstanceFile: e({ method: 'get', path: '/pools/{id}/instances/{instanceId}/file', summary: 'Download one de-identified instance (application/dicom)', tag: 'studies', access: 'pool:read', params: poolInstance, produces: 'application/dicom' }),
  listPoolQueries: e({ method: 'get', path: '/pools/{id}/queries', summary: 'Queries run in this pool', tag: 'queries', access: 'pool:coordinate', params: id }),

  listConnectors: e({ method: 'get', path: '/connectors', summary: 'List connectors (admins: all details; coordinators: names)', tag: 'connectors', access: 'signed-in' }),
  createConnector: e({ method: 'post', path: '/connectors', summary: 'Create a connector', tag: 'connectors', access: 'admin', body: connectorInputSchema, status: 201 }),
  getConnector: e({ method: 'get', path: '/connectors/{id}', summary: 'Get a connector', tag: 'connectors', access: 'admin', params: id }),
  updateConnector: e({ method: 'patch', path: '/connectors/{id}', summary: 'Update a connector', tag: 'connectors', access: 'admin', params: id, body: connectorInputSchema }),
  deleteConnector: e({ method: 'delete', path: '/connectors/{id}', summary: 'Delete a connector', tag: 'connectors', access: 'admin', params: id }),
  echoConnector: e({ method: 'post', path: '/connectors/{id}/echo', summary: 'Test connection: C-ECHO to the PACS as the query-pool AE (DICOM), or one QIDO-RS request (DICOMweb)', tag: 'connectors', access: 'admin', params: id }),

  createQuery: e({ method: 'post', path: '/queries', summary: 'Submit a query (JSON rows) to a connector inside a target pool', tag: 'queries', access: 'pool:coordinate', body: queryInputSchema, status: 201 }),
  getQuery: e({ method: 'get', path: '/queries/{id}', summary: 'Rows, results and per-study retrieval state', tag: 'queries', access: 'pool:coordinate', params: id }),
  retrieveQuery: e({ method: 'post', path: '/queries/{id}/retrieve', summary: 'Retrieve the selected studies into the pool', tag: 'queries', access: 'pool:coordinate', params: id, body: retrieveInputSchema, status: 202 }),
  retryQuery: e({ method: 'post', path: '/queries/{id}/retry', summary: 'Run the failed rows of a query again', tag: 'queries', access: 'pool:coordinate', params: id, status: 202 }),
  cancelQuery: e({ method: 'post', path: '/queries/{id}/cancel', summary: 'Cancel the rest of a query', tag: 'queries', access: 'pool:coordinate', params: id }),
  retryRetrieval: e({ method: 'post', path: '/retrievals/{id}/retry', summary: 'Retry a failed or partial study', tag: 'queries', access: 'pool:coordinate', params: id, status: 202 }),
  cancelRetrieval: e({ method: 'post', path: '/retrievals/{id}/cancel', summary: 'Cancel a study retrieval', tag: 'queries', access: 'pool:coordinate', params: id }),

  retryJob: e({ method: 'post', path: '/admin/queues/{queue}/jobs/{jobId}/retry', summary: 'Retry a failed background job', tag: 'admin', access: 'admin', params: z.object({ queue: z.enum(QUEUES), jobId: z.string().min(1).max(200) }) }),
  removeJob: e({ method: 'delete', path: '/admin/queues/{queue}/jobs/{jobId}', summary: 'Remove a background job that is not running', tag: 'admin', access: 'admin', params: z.object({ queue: z.enum(QUEUES), jobId: z.string().min(1).max(200) }) }),
  exportAudit: e({ method: 'get', path: '/admin/audit/export', summary: 'The audit log as CSV, filtered like the audit page (action, pool, user, from, to); at most 50,000 events, newest first', tag: 'admin', access: 'admin', query: auditFilterSchema, produces: 'text/csv' }),
  // Each capability keeps its endpoints in lib/api/endpoints/<capability>.ts.
  ...deidEndpoints,
  ...browseEndpoints,
  ...viewerEndpoints,
  ...poolMemberEndpoints,
  ...batchEndpoints,
  ...notificationEndpoints,
  ...cohortEndpoints,
  ...exportEndpoints,
} satisfies Record<string, Endpoint>;

export type Api = typeof api;
export { queryListQuerySchema };
