/**
 * Request bodies are read only after access is decided, and with a limit on the bytes actually
 * received: a chunked body (no Content-Length) or a lying Content-Length cannot make the web
 * process hold more than the limit, and a caller without access to the pool gets its 404 having
 * sent (next to) nothing. Every body here is a stream we build, counting the bytes the handler
 * pulled from it.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';

// Before any module reads the configuration: small limits keep the oversized bodies cheap.
vi.hoisted(() => {
  process.env.UPLOAD_MAX_BYTES = String(1024 * 1024);
  process.env.STOW_MAX_BYTES = String(1024 * 1024);
});

import { api } from '@/lib/api/contract';
import { PREVIEW_MAX_BYTES } from '@/lib/api/endpoints/deid';
import { JSON_MAX_BYTES } from '@/lib/api/read-body';
import { FIELDS_BEFORE_FILE_MAX_BYTES } from '@/lib/api/read-form';
import { createApiToken } from '@/lib/auth/tokens';
import { db } from '@/lib/db';
import { call, sessionCookie } from '../../helpers/api';
import { makeConnector, makePool, makeUser } from '../../helpers/fixtures';
import { dw } from '../dicomweb/helpers';

const MB = 1024 * 1024;
const UPLOAD_MAX = 1 * MB;
const STOW_MAX = 1 * MB;

/**
 * A body of `total` bytes: `head`, then filler, in `chunk`-byte pieces. highWaterMark 0: nothing
 * is pulled until the reader asks, so pulled() is exactly what the handler read.
 */
function source(head: Buffer, total: number, chunk = 64 * 1024) {
  let sent = 0;
  const filler = Buffer.alloc(chunk, 0x41);
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(ctrl) {
        if (sent >= total) return ctrl.close();
        const piece = sent < head.length ? head.subarray(sent, sent + chunk) : filler.subarray(0, Math.min(chunk, total - sent));
        sent += piece.length;
        ctrl.enqueue(new Uint8Array(piece));
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => sent };
}

/** A whole body split into tiny uneven chunks, so multipart boundaries fall across reads. */
function trickle(bytes: Buffer) {
  let pos = 0;
  let n = 0;
  return new ReadableStream<Uint8Array>({
    pull(ctrl) {
      if (pos >= bytes.length) return ctrl.close();
      const size = [7, 1, 333, 4096, 13][n++ % 5];
      ctrl.enqueue(new Uint8Array(bytes.subarray(pos, pos + size)));
      pos += size;
    },
  });
}

/** The start of a multipart/form-data body: text fields, then the headers of a file part. */
function formHead(boundary: string, fields: Record<string, string>, file = 'file', filename = 'upload.bin'): Buffer {
  let s = '';
  for (const [k, v] of Object.entries(fields)) s += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  s += `--${boundary}\r\nContent-Disposition: form-data; name="${file}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return Buffer.from(s, 'latin1');
}

/** A FormData serialized as a browser would send it. */
async function serialize(form: FormData): Promise<{ bytes: Buffer; contentType: string }> {
  const r = new Request('http://localhost/', { method: 'POST', body: form });
  return { bytes: Buffer.from(await r.arrayBuffer()), contentType: r.headers.get('content-type')! };
}

const B = 'xBoundary7MA4YWxkTrZu0gW';
const formType = `multipart/form-data; boundary=${B}`;
const code = (json: unknown) => (json as { error?: { code: string; message: string } }).error;

let victimPool: string;
let connectorId: string;
const tokens: Record<string, string> = {};
let ownerCookie: string;

beforeAll(async () => {
  const owner = await makeUser('RESEARCHER');
  const coordinator = await makeUser('COORDINATOR');
  const stranger = await makeUser('COORDINATOR');
  victimPool = (await makePool({ members: [{ userId: owner.id, role: 'OWNER' }, { userId: coordinator.id, role: 'COORDINATOR' }] })).id;
  // The stranger owns and coordinates a pool of their own, and has nothing in the victim's.
  await makePool({ members: [{ userId: stranger.id, role: 'OWNER' }] });
  connectorId = (await makeConnector({ pacsAe: 'NOWHERE', port: 9 })).connector.id;
  tokens.owner = (await createApiToken({ userId: owner.id, name: 't' })).token;
  ownerCookie = await sessionCookie(owner.id);
  tokens.coordinator = (await createApiToken({ userId: coordinator.id, name: 't' })).token;
  tokens.stranger = (await createApiToken({ userId: stranger.id, name: 't' })).token;
});

describe('a caller without access to the pool sends its upload for nothing', () => {
  it('is refused at /pools/<id>/preview and /lookups before a single byte of the body is read', async () => {
    for (const ep of [api.previewRules, api.uploadLookupTable]) {
      const body = source(formHead(B, { kind: 'identity' }), 1024 * MB);
      const res = await call(ep, { id: victimPool }, { token: tokens.stranger, stream: body.stream, contentType: formType });
      expect([403, 404], ep.path).toContain(res.status);
      expect(body.pulled(), ep.path).toBe(0);
    }
  });

  it('is refused at /queries/spreadsheet (pool named in the form) having read only the fields before the file', async () => {
    const body = source(formHead(B, { poolId: victimPool, connectorId, dryRun: 'true' }), 1024 * MB, 4096);
    const res = await call(api.uploadQuerySpreadsheet, {}, { token: tokens.stranger, stream: body.stream, contentType: formType });
    expect([403, 404]).toContain(res.status);
    // The fields and the file part's headers fit in the first 4 KB chunk: nothing of the file was asked for.
    expect(body.pulled()).toBeLessThanOrEqual(4096);
    expect(await db.query.count({ where: { poolId: victimPool } })).toBe(0);
  });

  it('is refused at DICOMweb STOW-RS before a single byte is read', async () => {
    const body = source(Buffer.from(`--${B}\r\nContent-Type: application/dicom\r\n\r\n`), 1024 * MB);
    const res = await dw('POST', `/dicomweb/${victimPool}/studies`, {
      token: tokens.stranger,
      headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${B}` },
      body: body.stream,
    });
    expect(res.status).toBe(404);
    expect(body.pulled()).toBe(0);
  });
});

describe('a body larger than the limit is cut off as it arrives (413)', () => {
  it('a chunked preview upload without Content-Length: read no further than the limit', async () => {
    const body = source(formHead(B, {}), PREVIEW_MAX_BYTES + MB);
    const res = await call(api.previewRules, { id: victimPool }, { token: tokens.owner, stream: body.stream, contentType: formType });
    expect(res.status).toBe(413);
    expect(code(res.json)?.code).toBe('PAYLOAD_TOO_LARGE');
    // The limit is the file limit plus 64 KB of framing; at most one 64 KB chunk beyond it is ever pulled.
    expect(body.pulled()).toBeLessThanOrEqual(PREVIEW_MAX_BYTES + 128 * 1024);
    expect(body.pulled()).toBeLessThan(PREVIEW_MAX_BYTES + MB);
  });

  it('a chunked spreadsheet (pool in the form) and lookup table: read no further than UPLOAD_MAX_BYTES', async () => {
    const sheet = source(formHead(B, { poolId: victimPool, connectorId, dryRun: 'true' }), UPLOAD_MAX + MB);
    const r1 = await call(api.uploadQuerySpreadsheet, {}, { token: tokens.coordinator, stream: sheet.stream, contentType: formType });
    expect(r1.status).toBe(413);
    expect(sheet.pulled()).toBeLessThanOrEqual(UPLOAD_MAX + 128 * 1024);

    const table = source(formHead(B, { kind: 'identity' }), UPLOAD_MAX + MB);
    const r2 = await call(api.uploadLookupTable, { id: victimPool }, { token: tokens.owner, stream: table.stream, contentType: formType });
    expect(r2.status).toBe(413);
    expect(table.pulled()).toBeLessThanOrEqual(UPLOAD_MAX + 128 * 1024);
  });

  it('a chunked JSON body: read no further than 1 MB', async () => {
    const body = source(Buffer.from(`{"poolId":"${victimPool}","connectorId":"${connectorId}","items":[{"patientId":"`), JSON_MAX_BYTES + MB);
    const res = await call(api.createQuery, {}, { token: tokens.coordinator, stream: body.stream });
    expect(res.status).toBe(413);
    expect(body.pulled()).toBeLessThanOrEqual(JSON_MAX_BYTES + 64 * 1024);
  });

  it('a small Content-Length does not let a big body through (multipart, JSON and STOW-RS)', async () => {
    const table = source(formHead(B, { kind: 'identity' }), UPLOAD_MAX + MB);
    const r1 = await call(api.uploadLookupTable, { id: victimPool }, { token: tokens.owner, stream: table.stream, contentType: formType, headers: { 'content-length': '200' } });
    expect(r1.status).toBe(413);
    expect(table.pulled()).toBeLessThanOrEqual(UPLOAD_MAX + 128 * 1024);

    const json = source(Buffer.from('{"name":"'), JSON_MAX_BYTES + MB);
    const r2 = await call(api.createToken, {}, { token: tokens.owner, stream: json.stream, headers: { 'content-length': '20' } });
    expect(r2.status).toBe(413);
    expect(json.pulled()).toBeLessThanOrEqual(JSON_MAX_BYTES + 64 * 1024);

    const stow = source(Buffer.from(`--${B}\r\nContent-Type: application/dicom\r\n\r\n`), STOW_MAX + MB);
    const r3 = await dw('POST', `/dicomweb/${victimPool}/studies`, {
      token: tokens.owner,
      headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${B}`, 'content-length': '300' },
      body: stow.stream,
    });
    expect(r3.status).toBe(413);
    expect(stow.pulled()).toBeLessThanOrEqual(STOW_MAX + 64 * 1024);
  });

  it('a declared Content-Length above the limit is refused before anything is read', async () => {
    const body = source(formHead(B, { kind: 'identity' }), 10 * MB);
    const res = await call(api.uploadLookupTable, { id: victimPool }, { token: tokens.owner, stream: body.stream, contentType: formType, headers: { 'content-length': String(10 * MB) } });
    expect(res.status).toBe(413);
    expect(body.pulled()).toBe(0);
  });
});

describe('normal uploads still work', () => {
  it('a lookup table streamed in tiny chunks without Content-Length', async () => {
    const form = new FormData();
    form.set('kind', 'identity');
    form.set('file', new File(['MRN,ResearchID\nBODY-1,R-BODY-1\nBODY-2,R-BODY-2\n'], 'ids.csv', { type: 'text/csv' }));
    const { bytes, contentType } = await serialize(form);
    const res = await call(api.uploadLookupTable, { id: victimPool }, { token: tokens.owner, stream: trickle(bytes), contentType });
    expect(res.status, res.text).toBe(200);
    expect((res.json as { stored: number }).stored).toBe(2);
  });

  it('a spreadsheet whose poolId precedes the file; one whose poolId follows it is told to send it first', async () => {
    const file = new File(['PatientID\n0012345\n'], 'rows.csv', { type: 'text/csv' });
    const good = new FormData();
    good.set('poolId', victimPool);
    good.set('connectorId', connectorId);
    good.set('dryRun', 'true');
    good.set('file', file);
    const { bytes, contentType } = await serialize(good);
    const ok = await call(api.uploadQuerySpreadsheet, {}, { token: tokens.coordinator, stream: trickle(bytes), contentType });
    expect(ok.status, ok.text).toBe(200);
    expect((ok.json as { verdict: { validRows: number } }).verdict.validRows).toBe(1);

    const late = new FormData();
    late.set('file', file);
    late.set('poolId', victimPool);
    late.set('connectorId', connectorId);
    const res = await call(api.uploadQuerySpreadsheet, {}, { token: tokens.coordinator, form: late });
    expect(res.status).toBe(422);
    expect(code(res.json)?.message).toMatch(/poolId .*before the file/);
  });

  it('leading form fields are capped before access is decided', async () => {
    const body = source(Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="poolId"\r\n\r\n`), 10 * MB, 4096);
    const res = await call(api.uploadQuerySpreadsheet, {}, { token: tokens.coordinator, stream: body.stream, contentType: formType });
    expect(res.status).toBe(413);
    expect(body.pulled()).toBeLessThanOrEqual(FIELDS_BEFORE_FILE_MAX_BYTES + 4096);
  });

  it('a JSON body streamed in chunks (signed in, from our own origin)', async () => {
    const res = await call(api.createToken, {}, { cookie: ownerCookie, stream: trickle(Buffer.from(JSON.stringify({ name: 'streamed' }))) });
    expect(res.status, res.text).toBe(201);
  });
});
