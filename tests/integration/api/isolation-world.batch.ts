/** Spreadsheet and connector-check endpoints aimed at pool B. */
import type { WorldExtension } from './isolation-world';

const extend: WorldExtension = async (w) => ({
  bodies: {
    uploadQuerySpreadsheet: {
      poolId: w.poolB.id,
      connectorId: w.ids.connector,
      dryRun: 'false',
      file: new File(['PatientID\n0012345\n'], 'rows.csv', { type: 'text/csv' }),
    },
    checkConnector: { patientId: '0012345', moveTest: false },
  },
});

export default extend;
