// Prisma 6.19 with its WASM engines and the pg driver adapter: the only combination that
// runs without downloading native engines (see docs/development.md and research/platform-facts.md).
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join('prisma', 'schema.prisma'),
  adapter: async () =>
    new PrismaPg({ connectionString: process.env.DATABASE_URL ?? 'postgresql://tributary@127.0.0.1:5432/tributary' }),
});
