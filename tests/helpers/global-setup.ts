/**
 * Vitest global setup: a fresh PostgreSQL database for this run (tributary_test by default),
 * migrated with the project's own migrations. Redis tests use their own key prefix.
 */
import { resetTestDatabase } from './database';

export default async function setup() {
  await resetTestDatabase();
}
