/**
 * The Prisma client, one per process. Server-only: importing it from a client component
 * would pull `pg` into the browser bundle.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client';
import { env } from './env';

export type Db = PrismaClient;
export type Tx = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

const globalForDb = globalThis as unknown as { __tributaryDb?: PrismaClient };

export function createDb(url = env().DATABASE_URL): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 10 }) });
}

export const db: PrismaClient = globalForDb.__tributaryDb ?? (globalForDb.__tributaryDb = createDb());

export * from './generated/prisma/client';
