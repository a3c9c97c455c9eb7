/** Spreadsheet queries at scale: uploads, templates, capability checks. */
import { z } from 'zod';
import { e, idParam, type Endpoint } from '../endpoint';

export const spreadsheetFormSchema = z.object({
  poolId: z.string().min(1, 'poolId is required'),
  connectorId: z.string().min(1, 'Choose a connector'),
  dryRun: z.enum(['true', 'false']).default('false'),
});

export const capabilityInputSchema = z.object({
  patientId: z.string().trim().min(1, 'Give the MRN of a patient the PACS holds').max(64).regex(/^[^*?\\]+$/, 'No wildcards'),
  moveTest: z.boolean().default(true),
});

export const batchEndpoints = {
  uploadQuerySpreadsheet: e({
    method: 'post',
    path: '/queries/spreadsheet',
    summary: 'Upload a spreadsheet (.xlsx or .csv) of MRNs: multipart fields poolId, connectorId, dryRun ("true" validates only), then file (poolId must come before the file: access is decided before the file is read)',
    tag: 'queries',
    access: 'pool:coordinate',
    multipart: true,
    body: spreadsheetFormSchema,
    status: 201,
  }),
  queryTemplate: e({
    method: 'get',
    path: '/queries/template',
    summary: 'The spreadsheet template (.xlsx)',
    tag: 'queries',
    access: 'signed-in',
    produces: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  }),
  checkConnector: e({
    method: 'post',
    path: '/connectors/{id}/capabilities',
    summary: 'PACS capability check: C-ECHO, which study-level return keys the PACS fills, series-level support, and a C-MOVE of one instance to our receiving AE',
    tag: 'connectors',
    access: 'admin',
    params: idParam,
    body: capabilityInputSchema,
  }),
} satisfies Record<string, Endpoint>;
