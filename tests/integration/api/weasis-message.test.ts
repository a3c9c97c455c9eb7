/**
 * A Weasis launch for studies without images says so in the manifest (the arcQuery's Message
 * element, which Weasis shows as a dialog) instead of opening an empty viewer; the manifest still
 * validates against manifest.xsd (tests/fixtures/weasis, nothing fetched).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { generateCorpus } from '@/lib/synthetic';
import type { WeasisLaunch } from '@/lib/viewers/weasis';
import { call } from '../../helpers/api';
import { makePool, makeUser } from '../../helpers/fixtures';
import { validateManifest } from '../../unit/viewers/xmllint';
import { seedPool } from '../browse/seed';

let poolId: string;
let token: string;
let withImages: string;
let empty: string;

async function manifestOf(studyIds: string[]): Promise<string> {
  const res = await call(api.createWeasisLaunch, { id: poolId }, { token, body: { studyIds } });
  expect(res.status).toBe(201);
  const l = res.json as WeasisLaunch;
  const xml = await call(api.getWeasisManifest, { manifestId: l.manifestUrl.split('/').pop()! }, { query: { noGzip: '1' } });
  expect(xml.status).toBe(200);
  const v = validateManifest(xml.text);
  expect(v.ok, v.output).toBe(true);
  return Buffer.from(xml.text, 'latin1').toString('utf8');
}

const message = (xml: string) => {
  const m = /<Message title="([^"]*)" description="([^"]*)" severity="([A-Z]+)"\/>/.exec(xml);
  return m ? { title: m[1], description: m[2], severity: m[3] } : null;
};

beforeAll(async () => {
  const u = await makeUser('RESEARCHER');
  poolId = (await makePool({ members: [{ userId: u.id, role: 'RESEARCHER' }] })).id;
  token = (await createApiToken({ userId: u.id, name: 'w' })).token;
  withImages = (await seedPool(poolId, generateCorpus({ seed: 47, patients: 1, seriesPerStudy: 1, instancesPerSeries: 1, rows: 16, columns: 16 }).instances.map((i) => i.buffer))).studyIds[0];
  empty = (await db.study.create({ data: { poolId, studyInstanceUid: `2.25.8${Date.now()}`, patientId: 'TRB-EMPTY' } })).id;
});

describe('Weasis manifest Message', () => {
  it('warns when the study has no images (and lists nothing)', async () => {
    const xml = await manifestOf([empty]);
    expect(message(xml)).toEqual({ title: 'No images', description: expect.stringMatching(/This study has no images in the pool yet/), severity: 'WARN' });
    expect(xml).not.toContain('<Patient');
  });

  it('tells how many of a selection have no images, and lists the others', async () => {
    const xml = await manifestOf([withImages, empty]);
    expect(message(xml)).toEqual({ title: 'Some studies have no images', description: expect.stringMatching(/^1 of the 2 studies have no images/), severity: 'INFO' });
    expect(xml.match(/<Study /g)).toHaveLength(1);
  });

  it('says nothing when every study has images', async () => {
    const xml = await manifestOf([withImages]);
    expect(message(xml)).toBeNull();
    expect(xml).not.toContain('<Message');
  });
});
