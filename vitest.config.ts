import { defineConfig } from 'vitest/config';
import os from 'node:os';
import path from 'node:path';

export default defineConfig({
  resolve: { alias: { '@': path.resolve(import.meta.dirname) } },
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    env: {
      DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${process.env.TEST_DATABASE_NAME ?? 'tributary_test'}`,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      REDIS_PREFIX: process.env.TEST_REDIS_PREFIX ?? 'tributary-test',
      STORAGE_ROOT: path.join(os.tmpdir(), `tributary-test-storage-${process.pid}`),
      TRIBUTARY_SECRET: 'test-secret-test-secret-test-secret-0123',
      TRIBUTARY_MODE: 'test',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
  },
});
