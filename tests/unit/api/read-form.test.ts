/**
 * The streaming multipart/form-data reader against the platform's own parser (undici's
 * Request.formData): the same fields and files for bodies cut into chunks at every size, with
 * preambles, epilogues, quoted boundaries and empty files; refused framing is a 400.
 */
import { describe, expect, it } from 'vitest';
import { readForm } from '@/lib/api/read-form';
import { AppError } from '@/lib/errors';

function chunked(bytes: Buffer, size: number): ReadableStream<Uint8Array> {
  let pos = 0;
  return new ReadableStream<Uint8Array>({
    pull(ctrl) {
      if (pos >= bytes.length) return ctrl.close();
      ctrl.enqueue(new Uint8Array(bytes.subarray(pos, pos + size)));
      pos += size;
    },
  });
}

const request = (bytes: Buffer, contentType: string, size: number) =>
  new Request('http://localhost/', { method: 'POST', headers: { 'content-type': contentType }, body: chunked(bytes, size), duplex: 'half' } as RequestInit);

async function serialize(form: FormData) {
  const r = new Request('http://localhost/', { method: 'POST', body: form });
  return { bytes: Buffer.from(await r.arrayBuffer()), contentType: r.headers.get('content-type')! };
}

async function summary(fields: Record<string, string>, files: Record<string, File>) {
  const f: Record<string, { name: string; type: string; bytes: string }> = {};
  for (const [k, v] of Object.entries(files)) f[k] = { name: v.name, type: v.type, bytes: Buffer.from(await v.arrayBuffer()).toString('hex') };
  return { fields, files: f };
}

async function platform(bytes: Buffer, contentType: string) {
  const form = await new Request('http://localhost/', { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(bytes) }).formData();
  const fields: Record<string, string> = {};
  const files: Record<string, File> = {};
  for (const [k, v] of form.entries()) if (typeof v === 'string') fields[k] = v;
  else files[k] = v;
  return summary(fields, files);
}

describe('readForm', () => {
  it('reads what the platform reads, whatever the chunk size', async () => {
    const form = new FormData();
    form.set('poolId', 'pool-1');
    form.set('text', 'line one\r\nline two — ünïcode');
    form.set('empty', '');
    form.set('file', new File([Buffer.from('a\r\n--not-a-boundary\r\nb')], 'rows.csv', { type: 'text/csv' }));
    form.set('binary', new File([Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256))], 'x.dcm', { type: 'application/dicom' }));
    form.set('none', new File([], '', { type: 'application/octet-stream' }));
    const { bytes, contentType } = await serialize(form);
    const expected = await platform(bytes, contentType);
    for (const size of [1, 2, 3, 7, 64, 1000, bytes.length]) {
      const got = await readForm(request(bytes, contentType, size), { maxFileBytes: 1024 * 1024 });
      expect(await summary(got.fields, got.files), `chunk ${size}`).toEqual(expected);
    }
  });

  it('accepts a preamble, an epilogue and a quoted boundary', async () => {
    const body = Buffer.from('preamble text\r\n--b q\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b q--\r\nepilogue');
    const got = await readForm(request(body, 'multipart/form-data; boundary="b q"', 5), { maxFileBytes: 1024 });
    expect(got.fields).toEqual({ a: '1' });
  });

  it('calls beforeFiles with the fields that precede the first file, before reading it', async () => {
    const seen: Record<string, string>[] = [];
    const body = Buffer.from(
      '--B\r\nContent-Disposition: form-data; name="poolId"\r\n\r\np1\r\n' +
        '--B\r\nContent-Disposition: form-data; name="file"; filename="f.csv"\r\n\r\nDATA\r\n' +
        '--B\r\nContent-Disposition: form-data; name="late"\r\n\r\nx\r\n--B--\r\n',
    );
    const got = await readForm(request(body, 'multipart/form-data; boundary=B', 3), { maxFileBytes: 1024, beforeFiles: async (f) => void seen.push(f) });
    expect(seen).toEqual([{ poolId: 'p1' }]);
    expect(got.fields).toEqual({ poolId: 'p1', late: 'x' });
    expect(Buffer.from(await got.files.file.arrayBuffer()).toString()).toBe('DATA');
  });

  it('refuses broken framing (400), a file over the limit (413) and other media types (415)', async () => {
    const cases: [Buffer, string, string][] = [
      [Buffer.from('--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'), 'multipart/form-data; boundary=B', 'BAD_REQUEST'],
      [Buffer.from('no boundary here'), 'multipart/form-data; boundary=B', 'BAD_REQUEST'],
      [Buffer.from('--B\r\n'), 'multipart/form-data', 'BAD_REQUEST'],
      [Buffer.from('--B\r\nContent-Disposition: form-data; name="f"; filename="f"\r\n\r\n' + 'x'.repeat(2000) + '\r\n--B--\r\n'), 'multipart/form-data; boundary=B', 'PAYLOAD_TOO_LARGE'],
      [Buffer.from('{}'), 'application/json', 'UNSUPPORTED_MEDIA_TYPE'],
    ];
    for (const [body, type, code] of cases) {
      const err = await readForm(request(body, type, 4), { maxFileBytes: 1000 }).catch((e: unknown) => e);
      expect(err, code).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe(code);
    }
  });
});
