/**
 * DICOMweb connector settings: one schema for form and API (refusals), the secret write-only
 * (encrypted at rest, never returned, kept when the form leaves it empty, never in audit rows),
 * Test connection and the capability check against Orthanc's DICOMweb plugin with basic auth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrthanc, type OrthancHandle } from '../../helpers/orthanc';
import { actorOf, makePool, makeUser } from '../../helpers/fixtures';
import { generateCorpus, type Corpus } from '@/lib/synthetic';
import { db } from '@/lib/db';
import { connectorInputSchema } from '@/lib/connectors/schema';

let orthanc: OrthancHandle;
let corpus: Corpus;
const auth = { username: 'admin-check', password: 'S3cret-Web-Pass!' };

beforeAll(async () => {
  corpus = generateCorpus({ seed: 53, patients: 1, rows: 16, columns: 16, instancesPerSeries: 2 });
  orthanc = await startOrthanc({ aet: 'SETPACS', dicomWeb: true, basicAuth: auth });
  await orthanc.uploadFiles(corpus.instances.map((i) => i.buffer));
});

afterAll(async () => {
  await orthanc?.stop();
});

async function input(over: Record<string, unknown> = {}) {
  const q = await makePool({ kind: 'INFRASTRUCTURE' });
  const r = await makePool({ kind: 'INFRASTRUCTURE' });
  return {
    name: `DICOMweb ${Math.random().toString(36).slice(2, 8)}`,
    type: 'DICOMWEB',
    queryPoolId: q.id,
    receivingPoolId: r.id,
    retrieveMethod: 'WADORS',
    webBaseUrl: `${orthanc.httpUrl}/dicom-web`,
    webAuthType: 'BASIC',
    webUsername: auth.username,
    webSecret: auth.password,
    ...over,
  };
}

describe('DICOMweb connector settings', () => {
  it('refuses what cannot work, with the field named', async () => {
    const errs = (v: Record<string, unknown>) => {
      const r = connectorInputSchema.safeParse(v);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(errs(await input({ webBaseUrl: 'ftp://pacs' }))).toEqual([expect.stringMatching(/^webBaseUrl: .*http/)]);
    expect(errs(await input({ retrieveMethod: 'CMOVE' }))).toEqual([expect.stringMatching(/^retrieveMethod: .*WADO-RS/)]);
    expect(errs(await input({ webAuthType: 'OAUTH2' }))).toEqual([expect.stringMatching(/^webTokenUrl: /)]);
    expect(errs(await input({ webHeaders: { Authorization: 'Bearer x' } }))).toEqual([expect.stringMatching(/^webHeaders: /)]);
    expect(errs(await input({ webHeaders: { 'X-Ok': 'a\r\nInjected: 1' } }))).toHaveLength(1);
    expect(errs(await input({ webTlsCa: 'not a pem' }))).toEqual([expect.stringMatching(/^webTlsCa: .*PEM/)]);
    expect(errs(await input({ webTransferSyntax: 'jpeg please' }))).toEqual([expect.stringMatching(/^webTransferSyntax: /)]);
    expect(errs(await input())).toEqual([]);
    // A DICOM connector still needs its device, and cannot use WADO-RS.
    expect(errs(await input({ type: 'DICOM', retrieveMethod: 'WADORS' })).join(' ')).toMatch(/deviceId: .*device.*retrieveMethod: .*DICOMweb/);
  });

  it('keeps the secret write-only: encrypted at rest, "set" in answers, kept when left empty, never audited', async () => {
    const admin = await makeUser('ADMIN');
    const { createConnector, updateConnector, getConnector, listConnectors } = await import('@/lib/connectors/connectors');
    const body = connectorInputSchema.parse(await input());
    const created = await createConnector(actorOf(admin), body);
    expect(created.webSecret).toBe('set');
    const row = await db.connector.findUniqueOrThrow({ where: { id: created.id } });
    expect(row.webSecret).toBeTruthy();
    expect(row.webSecret).not.toContain(auth.password);
    const shown = JSON.stringify([await getConnector(created.id), (await listConnectors()).find((c) => c.id === created.id)]);
    expect(shown).not.toContain(auth.password);
    expect(shown).not.toContain(row.webSecret!);
    // The form leaves the password empty: the stored one stays.
    const { webSecret: _omit, ...withoutSecret } = body;
    await updateConnector(actorOf(admin), created.id, { ...withoutSecret, name: `${body.name} renamed` });
    expect((await db.connector.findUniqueOrThrow({ where: { id: created.id } })).webSecret).toBe(row.webSecret);
    // Basic auth without any password is refused.
    const none = connectorInputSchema.parse(await input({ webSecret: undefined }));
    await expect(createConnector(actorOf(admin), none)).rejects.toThrow(/password is required/);
    const audits = await db.auditEvent.findMany({ where: { targetId: created.id } });
    expect(audits.length).toBeGreaterThan(0);
    expect(JSON.stringify(audits)).not.toContain(auth.password);
    expect(JSON.stringify(audits)).not.toContain(row.webSecret!);
  });

  it('tests the connection and checks capabilities: QIDO levels, includefield, WADO-RS and its transfer syntax', async () => {
    const admin = await makeUser('ADMIN');
    const { createConnector, echoConnector } = await import('@/lib/connectors/connectors');
    const good = await createConnector(actorOf(admin), connectorInputSchema.parse(await input()));
    const ok = await echoConnector(actorOf(admin), good.id);
    expect(ok.ok, ok.message).toBe(true);
    expect(ok.message).toMatch(/QIDO-RS answered in \d+ ms by the DICOMweb server at 127\.0\.0\.1:\d+/);
    const bad = await createConnector(actorOf(admin), connectorInputSchema.parse(await input({ webSecret: 'wrong-one' })));
    const refused = await echoConnector(actorOf(admin), bad.id);
    expect(refused.ok).toBe(false);
    expect(refused.message).toMatch(/refused the user name or password \(HTTP 401\)/);

    const { checkConnector } = await import('@/lib/connectors/capabilities');
    const caps = await checkConnector(actorOf(admin), good.id, { patientId: corpus.patients[0].patientId, moveTest: true });
    expect(caps.echo.ok).toBe(true);
    expect(caps.find?.ok).toBe(true);
    expect(caps.find?.studies).toBe(corpus.patients[0].studies.length);
    expect(caps.seriesLevel?.ok).toBe(true);
    expect(caps.seriesLevel?.countsInstances).toBe(true);
    expect(caps.instanceLevel?.ok).toBe(true);
    expect(caps.move?.ok, caps.move?.message).toBe(true);
    expect(caps.move?.message).toMatch(/^WADO-RS sent the instance/);
    expect(caps.dicomweb?.includeField?.ok, caps.dicomweb?.includeField?.message).toBe(true);
    expect(caps.dicomweb?.transferSyntaxes.every((t) => /^[0-9.]+$/.test(t))).toBe(true);
    // Nothing kept from the probe.
    expect(await db.stagedInstance.count({ where: { receivingPoolId: good.receivingPoolId } })).toBe(0);
  });
});
