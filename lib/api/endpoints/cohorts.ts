/** Database cohort sources (lib/cohorts): admins write them; coordinators run them inside a pool. */
import { cohortRunInputSchema, cohortSourceInputSchema } from '../../cohorts/schema';
import { type Endpoint, e, idParam } from '../endpoint';

export const cohortEndpoints = {
  listCohortSources: e({ method: 'get', path: '/cohort-sources', summary: 'List database cohort sources (admins: settings, password as "set"/"not set"; others: name and parameters)', tag: 'cohort-sources', access: 'signed-in' }),
  createCohortSource: e({ method: 'post', path: '/cohort-sources', summary: 'Create a database cohort source; refused unless its SELECT runs (zero rows) and returns the mapped columns', tag: 'cohort-sources', access: 'admin', body: cohortSourceInputSchema, status: 201 }),
  getCohortSource: e({ method: 'get', path: '/cohort-sources/{id}', summary: 'Get a database cohort source (the password is never returned)', tag: 'cohort-sources', access: 'admin', params: idParam }),
  updateCohortSource: e({ method: 'patch', path: '/cohort-sources/{id}', summary: 'Update a database cohort source (password: absent keeps it, "" clears it)', tag: 'cohort-sources', access: 'admin', params: idParam, body: cohortSourceInputSchema }),
  deleteCohortSource: e({ method: 'delete', path: '/cohort-sources/{id}', summary: 'Delete a database cohort source (its queries stay)', tag: 'cohort-sources', access: 'admin', params: idParam }),
  testCohortSource: e({ method: 'post', path: '/cohort-sources/{id}/test', summary: 'Test: zero-row dry run of the statement, with the mapped columns found', tag: 'cohort-sources', access: 'admin', params: idParam }),
  runCohortSource: e({ method: 'post', path: '/cohort-sources/{id}/run', summary: 'Run a cohort source with parameter values inside a pool: its rows become a query through the paired connector (dryRun: verdict only)', tag: 'cohort-sources', access: 'pool:coordinate', params: idParam, body: cohortRunInputSchema, status: 201 }),
} satisfies Record<string, Endpoint>;
