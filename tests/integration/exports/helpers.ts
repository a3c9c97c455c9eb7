/** Fixtures of the export tests: a seeded pool, a DICOMweb destination and an exporter. */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import type { Prisma } from '@/lib/generated/prisma/client';
import { db } from '@/lib/db';
import { encryptSecret } from '@/lib/secrets';
import { absolute } from '@/lib/storage';
import { generateCorpus } from '@/lib/synthetic';
import { suffix } from '../../helpers/fixtures';
import { seedPool } from '../browse/seed';

export async function seedStudies(poolId: string, seed: number, opts: { patients?: number; instancesPerSeries?: number; seriesPerStudy?: number } = {}) {
  const corpus = generateCorpus({ seed, patients: opts.patients ?? 1, studiesPerPatient: 1, seriesPerStudy: opts.seriesPerStudy ?? 1, instancesPerSeries: opts.instancesPerSeries ?? 3, rows: 16, columns: 16 });
  return seedPool(poolId, corpus.instances.map((i) => i.buffer));
}

export async function makeWebDestination(url: string, auth?: { username: string; password: string }, extra: Partial<Prisma.DestinationCreateInput> = {}) {
  return db.destination.create({
    data: {
      name: `STOW ${suffix()}`,
      type: 'DICOMWEB',
      webStowUrl: url,
      webAuthType: auth ? 'BASIC' : 'NONE',
      webUsername: auth?.username ?? null,
      webSecret: auth ? encryptSecret(auth.password) : null,
      webConnectTimeoutMs: 3000,
      webReadTimeoutMs: 15_000,
      maxAssociations: 2,
      ...extra,
    },
  });
}

export async function makeExporter(poolId: string, destinationId: string, extra: Partial<Prisma.ExporterUncheckedCreateInput> = {}) {
  return db.exporter.create({ data: { poolId, destinationId, name: `Exporter ${suffix()}`, ...extra } });
}

export async function sha256OfStored(instanceId: string): Promise<string> {
  const i = await db.instance.findUniqueOrThrow({ where: { id: instanceId } });
  return createHash('sha256').update(await fs.readFile(absolute(i.path))).digest('hex');
}
