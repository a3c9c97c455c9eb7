/**
 * Runs the de-identify step of one retrieval in its own process, for the staging reconciliation
 * test: TRIBUTARY_CRASH_AT (lib/testing/crash-point.ts) makes it SIGKILL itself at a chosen step.
 * Usage: node --import tsx anonymize-child.ts <retrievalId> <generation>
 */
import { closeDeidPool } from '../../../lib/receive/ingest';
import { runAnonymize } from '../../../lib/retrievals/run-anonymize';

const [retrievalId, generation] = process.argv.slice(2);
await runAnonymize(retrievalId, Number(generation));
await closeDeidPool();
process.exit(0);
