/**
 * The rules editor's API (check, save as a new version, history, concurrency) and the preview
 * (before/after of a sample under unsaved rules; owners only; audited without values; nothing
 * stored, no identity created).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api } from '@/lib/api/contract';
import { DEFAULT_RULES } from '@/lib/anonymize/rules';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { call } from '../../helpers/api';
import { makePool, makeUser, suffix } from '../../helpers/fixtures';
import { discardStaged, sourceInstance, stagedRetrieval, ultrasound } from './helpers';

let poolId: string;
let ownerId: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  const owner = await makeUser('RESEARCHER');
  ownerId = owner.id;
  const coordinator = await makeUser('COORDINATOR');
  const researcher = await makeUser('RESEARCHER');
  const admin = await makeUser('ADMIN');
  const pool = await makePool({ members: [{ userId: owner.id, role: 'OWNER' }, { userId: coordinator.id, role: 'COORDINATOR' }, { userId: researcher.id, role: 'RESEARCHER' }] });
  poolId = pool.id;
  for (const [k, u] of Object.entries({ owner, coordinator, researcher, admin })) tokens[k] = (await createApiToken({ userId: u.id, name: 'r' })).token;
});

type ErrorBody = { error: { code: string; fields?: Record<string, string[]> } };

describe('rules editor API', () => {
  it('answers an invalid override with 422 and field errors, and saves nothing', async () => {
    const bad = { rules: { ...DEFAULT_RULES, overrides: [{ selector: 'PatientSex', action: 'keep' }, { selector: 'NoSuchKeyword', action: 'keep' }, { selector: 'StudyDate', action: 'set', value: 'yesterday' }] } };
    const res = await call(api.updatePoolRules, { id: poolId }, { token: tokens.owner, body: bad });
    expect(res.status).toBe(422);
    const fields = (res.json as ErrorBody).error.fields!;
    expect(fields['rules.overrides.1'].join(' ')).toMatch(/unknown keyword "NoSuchKeyword"/);
    expect(fields['rules.overrides.2'].join(' ')).toMatch(/YYYYMMDD/);
    expect(fields['rules.overrides.0']).toBeUndefined();
    const structural = await call(api.updatePoolRules, { id: poolId }, { token: tokens.owner, body: { rules: { ...DEFAULT_RULES, overrides: [{ selector: 'PatientSex', action: 'scramble' }] } } });
    expect(structural.status).toBe(422);
    expect(Object.keys((structural.json as ErrorBody).error.fields!)).toContain('rules.overrides.0.action');
    const check = await call(api.checkPoolRules, { id: poolId }, { token: tokens.owner, body: bad });
    expect(check.status).toBe(422);
    const pool = await db.pool.findUniqueOrThrow({ where: { id: poolId } });
    expect(pool.ruleVersion).toBe(1);
    expect(await db.poolRuleVersion.count({ where: { poolId } })).toBe(1);
  });

  it('checks without saving, listing what would change', async () => {
    const res = await call(api.checkPoolRules, { id: poolId }, { token: tokens.owner, body: { rules: { ...DEFAULT_RULES, overrides: [{ selector: 'PatientSex', action: 'keep' }] } } });
    expect(res.status, res.text).toBe(200);
    const { changes } = res.json as { changes: { keyword?: string; before?: string; after?: string }[] };
    expect(changes.find((c) => c.keyword === 'PatientSex')).toMatchObject({ before: 'Z empty', after: 'K keep' });
    expect((await db.pool.findUniqueOrThrow({ where: { id: poolId } })).ruleVersion).toBe(1);
  });

  it('saves valid rules as version + 1 with a PoolRuleVersion row, audited; refuses a stale base version', async () => {
    const rules = { ...DEFAULT_RULES, options: ['retainLongitudinalModifiedDates', 'retainPatientCharacteristics'], overrides: [{ selector: 'StudyDescription', action: 'keep' }] };
    const res = await call(api.updatePoolRules, { id: poolId }, { token: tokens.owner, body: { rules, baseVersion: 1 } });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ ruleVersion: 2, unchanged: false });
    const pool = await db.pool.findUniqueOrThrow({ where: { id: poolId } });
    expect(pool.ruleVersion).toBe(2);
    expect(pool.rules).toMatchObject({ options: rules.options, overrides: rules.overrides });
    const v2 = await db.poolRuleVersion.findUniqueOrThrow({ where: { poolId_version: { poolId, version: 2 } } });
    expect(v2.rules).toMatchObject({ overrides: rules.overrides });
    expect(v2.createdById).toBe(ownerId);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { poolId, action: 'pool.rules-update' } });
    expect(audit.detail).toMatchObject({ version: 2, overrides: 1 });

    // Someone still editing version 1 cannot overwrite version 2.
    const stale = await call(api.updatePoolRules, { id: poolId }, { token: tokens.owner, body: { rules: DEFAULT_RULES, baseVersion: 1 } });
    expect(stale.status).toBe(409);
    // The same rules again make no new version.
    const same = await call(api.updatePoolRules, { id: poolId }, { token: tokens.owner, body: { rules, baseVersion: 2 } });
    expect(same.json).toMatchObject({ ruleVersion: 2, unchanged: true });
    expect(await db.poolRuleVersion.count({ where: { poolId } })).toBe(2);

    const history = await call(api.getPoolRules, { id: poolId }, { token: tokens.owner });
    expect((history.json as { versions: { version: number }[] }).versions.map((v) => v.version)).toEqual([2, 1]);
    const v1 = await call(api.getPoolRuleVersion, { id: poolId, version: '1' }, { token: tokens.owner });
    expect(v1.json).toMatchObject({ version: 1, rules: { options: ['retainLongitudinalModifiedDates'] } });
    expect((await call(api.getPoolRuleVersion, { id: poolId, version: '9' }, { token: tokens.owner })).status).toBe(404);
  });

  it('lets admins read rules (pool:own) but not save them (pool:rules, owners only); researchers and coordinators neither', async () => {
    expect((await call(api.getPoolRules, { id: poolId }, { token: tokens.admin })).status).toBe(200);
    expect((await call(api.updatePoolRules, { id: poolId }, { token: tokens.admin, body: { rules: DEFAULT_RULES } })).status).toBe(403);
    for (const who of ['researcher', 'coordinator']) {
      expect((await call(api.getPoolRules, { id: poolId }, { token: tokens[who] })).status).toBe(403);
      expect((await call(api.updatePoolRules, { id: poolId }, { token: tokens[who], body: { rules: DEFAULT_RULES } })).status).toBe(403);
    }
  });
});

describe('preview', () => {
  const mrn = `MRN-PREVIEW-${suffix()}`;
  let n = 0;
  const sample = () => {
    const base = `1.2.826.0.1.3680043.9.9.${Date.now() % 1e9}.${++n}`;
    return sourceInstance({ mrn, name: 'Preview^Patricia', study: `${base}.1`, series: `${base}.2`, sop: `${base}.3` });
  };
  const form = (rules: unknown, file?: Buffer, stagedInstanceId?: string) => {
    const f = new FormData();
    if (rules !== undefined) f.set('rules', typeof rules === 'string' ? rules : JSON.stringify(rules));
    if (file) f.set('file', new File([new Uint8Array(file)], 'sample.dcm', { type: 'application/dicom' }));
    if (stagedInstanceId) f.set('stagedInstanceId', stagedInstanceId);
    return f;
  };
  type Preview = { rows: { keyword?: string; before?: string; after?: string; action: string }[]; counts: Record<string, number>; quarantine?: { reason: string }; identitySource: string };

  it('shows before and after of an uploaded sample under unsaved rules', async () => {
    const rules = { ...DEFAULT_RULES, overrides: [{ selector: 'PatientSex', action: 'keep' }, { selector: 'ClinicalTrialProtocolID', action: 'set', value: 'TRIAL-42' }] };
    const res = await call(api.previewRules, { id: poolId }, { token: tokens.owner, form: form(rules, sample().bytes) });
    expect(res.status, res.text).toBe(200);
    const p = res.json as Preview;
    const row = (k: string) => p.rows.find((r) => r.keyword === k && !('path' in r && (r as { path?: string }).path));
    expect(row('PatientName')).toMatchObject({ before: 'Preview^Patricia', action: 'changed' });
    expect(row('PatientName')!.after).toMatch(/^TRB-/);
    expect(row('PatientID')).toMatchObject({ before: mrn, action: 'changed' });
    expect(row('PatientSex')).toMatchObject({ before: 'M', after: 'M', action: 'kept' });
    expect(row('PatientBirthDate')).toMatchObject({ before: '19600302', after: '', action: 'changed' });
    expect(row('PatientAge')).toMatchObject({ before: '059Y', action: 'removed' });
    expect(row('ClinicalTrialProtocolID')).toMatchObject({ after: 'TRIAL-42', action: 'added' });
    expect(p.quarantine).toBeUndefined();
    expect(p.identitySource).toBe('pseudonym');
    // Nothing was stored or created; the preview was audited without values.
    expect(await db.patientIdentity.count({ where: { poolId } })).toBe(0);
    expect(await db.instance.count({ where: { poolId } })).toBe(0);
    const audit = await db.auditEvent.findFirstOrThrow({ where: { poolId, action: 'pool.rules-preview' }, orderBy: { at: 'desc' } });
    expect(audit.detail).toMatchObject({ source: 'upload', quarantined: false });
    expect(JSON.stringify(audit)).not.toContain(mrn);
    expect(JSON.stringify(audit)).not.toContain('Patricia');
  });

  it('says when the sample would be quarantined, and previews a staged instance of this pool only', async () => {
    const us = ultrasound({ mrn, study: '1.2.826.0.1.3680043.9.9.11', series: '1.2.826.0.1.3680043.9.9.12', sop: '1.2.826.0.1.3680043.9.9.13' });
    const up = await call(api.previewRules, { id: poolId }, { token: tokens.owner, form: form(undefined, us.bytes) });
    expect(up.status, up.text).toBe(200);
    expect((up.json as Preview).quarantine?.reason).toMatch(/^ultrasound: /);

    const { staged } = await stagedRetrieval(poolId, { mrn, researchId: `ROW-PREVIEW`, instances: [sample()] });
    const samples = await call(api.listPreviewSamples, { id: poolId }, { token: tokens.owner });
    expect((samples.json as { samples: { id: string }[] }).samples.map((x) => x.id)).toContain(staged[0].id);
    const res = await call(api.previewRules, { id: poolId }, { token: tokens.owner, form: form(undefined, undefined, staged[0].id) });
    expect(res.status, res.text).toBe(200);
    const p = res.json as Preview;
    expect(p.identitySource).toBe('query-row');
    expect(p.rows.find((r) => r.keyword === 'PatientID')).toMatchObject({ before: mrn, after: 'ROW-PREVIEW' });
    expect(await db.stagedInstance.count({ where: { id: staged[0].id } })).toBe(1);

    const other = await makePool();
    const foreign = await stagedRetrieval(other.id, { mrn, instances: [sample()] });
    expect((await call(api.previewRules, { id: poolId }, { token: tokens.owner, form: form(undefined, undefined, foreign.staged[0].id) })).status).toBe(404);
    await discardStaged([...staged, ...foreign.staged]);
  });

  it('refuses invalid rules (422), a missing or unreadable sample (422/400), and non-owners (admins included)', async () => {
    const bad = await call(api.previewRules, { id: poolId }, { token: tokens.owner, form: form({ ...DEFAULT_RULES, overrides: [{ selector: 'Nope', action: 'keep' }] }, sample().bytes) });
    expect(bad.status).toBe(422);
    expect((bad.json as ErrorBody).error.fields!['rules.overrides.0']).toBeDefined();
    expect((await call(api.previewRules, { id: poolId }, { token: tokens.owner, form: form('{not json', sample().bytes) })).status).toBe(422);
    expect((await call(api.previewRules, { id: poolId }, { token: tokens.owner, form: form(undefined) })).status).toBe(422);
    expect((await call(api.previewRules, { id: poolId }, { token: tokens.owner, form: form(undefined, Buffer.from('not dicom at all')) })).status).toBe(400);
    for (const who of ['admin', 'coordinator', 'researcher']) {
      const res = await call(api.previewRules, { id: poolId }, { token: tokens[who], form: form(undefined, sample().bytes) });
      expect([403, 404], who).toContain(res.status);
      expect(res.text).not.toContain(mrn);
      expect([403, 404], who).toContain((await call(api.listPreviewSamples, { id: poolId }, { token: tokens[who] })).status);
    }
  });
});
