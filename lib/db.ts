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

function instance(): PrismaClient {
  return (globalForDb.__tributaryDb ??= createDb());
}

/**
 * Created on first use, not on import: the configuration is validated when the process first
 * needs the database (at start for the worker and the start scripts), and `next build`, which
 * imports every route, needs no DATABASE_URL or secret.
 */
export const db: PrismaClient = new Proxy({} as PrismaClient, {
  get(_target, prop) {
    const client = instance();
    const value = Reflect.get(client, prop, client) as unknown;
    return typeof value === 'function' ? value.bind(client) : value;
  },
});

export * from './generated/prisma/client';
