/**
 * Destinations (admin) and a pool's exporters (its owner). Issue 12: lib/exports/destinations.ts,
 * lib/exports/exporters.ts. Secrets are write-only in both (absent keeps, "" clears).
 */
import { z } from 'zod';
import { destinationInputSchema, exporterInputSchema } from '../../exports/schema';
import { type Endpoint, e, idParam } from '../endpoint';

const poolExporter = z.object({ id: z.string().min(1).max(64), exporterId: z.string().min(1).max(64) });

export const exporterEndpoints = {
  listDestinations: e({ method: 'get', path: '/destinations', summary: 'Export destinations (STOW-RS endpoints and DICOM devices); secrets only as "set" / "not set"', tag: 'exports', access: 'admin' }),
  createDestination: e({ method: 'post', path: '/destinations', summary: 'Register an export destination', tag: 'exports', access: 'admin', body: destinationInputSchema, status: 201 }),
  getDestination: e({ method: 'get', path: '/destinations/{id}', summary: 'Get a destination', tag: 'exports', access: 'admin', params: idParam }),
  updateDestination: e({ method: 'patch', path: '/destinations/{id}', summary: 'Update a destination (the whole destination; an absent secret keeps the stored one)', tag: 'exports', access: 'admin', params: idParam, body: destinationInputSchema }),
  deleteDestination: e({ method: 'delete', path: '/destinations/{id}', summary: 'Delete a destination (409 while exporters send to it)', tag: 'exports', access: 'admin', params: idParam }),
  testDestination: e({ method: 'post', path: '/destinations/{id}/test', summary: 'Test a destination: C-ECHO (DICOM) or one authenticated GET on the STOW-RS URL (DICOMweb); sends no data', tag: 'exports', access: 'admin', params: idParam }),

  listExporters: e({ method: 'get', path: '/pools/{id}/exporters', summary: "The pool's exporters: owners get every setting (secrets as \"set\" / \"not set\"), other readers names and destination names", tag: 'exports', access: 'pool:read', params: idParam }),
  createExporter: e({ method: 'post', path: '/pools/{id}/exporters', summary: 'Set up an exporter of the pool to a destination', tag: 'exports', access: 'pool:exporters', params: idParam, body: exporterInputSchema, status: 201 }),
  getExporter: e({ method: 'get', path: '/pools/{id}/exporters/{exporterId}', summary: "An exporter's settings", tag: 'exports', access: 'pool:exporters', params: poolExporter }),
  updateExporter: e({ method: 'patch', path: '/pools/{id}/exporters/{exporterId}', summary: 'Update an exporter (the whole exporter; absent secrets keep the stored ones)', tag: 'exports', access: 'pool:exporters', params: poolExporter, body: exporterInputSchema }),
  deleteExporter: e({ method: 'delete', path: '/pools/{id}/exporters/{exporterId}', summary: 'Delete an exporter (409 while it has exports: disable it instead)', tag: 'exports', access: 'pool:exporters', params: poolExporter }),
} satisfies Record<string, Endpoint>;
