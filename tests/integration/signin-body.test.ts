/**
 * next-auth reads its POST bodies whole; our route hands it a body read under a 64 KB limit on
 * the bytes received, so an anonymous chunked upload at the sign-in endpoint cannot grow the web
 * process's memory, while real sign-in posts still reach next-auth.
 */
import { NextRequest } from 'next/server';
import { describe, expect, it } from 'vitest';
import { POST } from '@/app/api/auth/[...nextauth]/route';
import { withBoundedBody } from '@/lib/api/read-body';
import { AppError } from '@/lib/errors';

const ctx = (...nextauth: string[]) => ({ params: Promise.resolve({ nextauth }) });

describe('next-auth POST bodies', () => {
  it('a chunked body without Content-Length is cut off at 64 KB (413)', async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(ctrl) {
          if (pulled >= 100 * 1024 * 1024) return ctrl.close();
          pulled += 16 * 1024;
          ctrl.enqueue(new Uint8Array(16 * 1024).fill(0x61));
        },
      },
      { highWaterMark: 0 },
    );
    const req = new NextRequest('http://localhost:3000/api/auth/callback/credentials', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      duplex: 'half',
    } as ConstructorParameters<typeof NextRequest>[1]);
    const res = await POST(req, ctx('callback', 'credentials'));
    expect(res.status).toBe(413);
    expect(pulled).toBeLessThanOrEqual(64 * 1024 + 16 * 1024);
  });

  it('a small sign-in post reaches next-auth unchanged: body, headers, cookies, URL', async () => {
    const form = 'email=a%40b.test&password=x&csrfToken=t0k&callbackUrl=%2Fpools';
    const req = new NextRequest('http://localhost:3000/api/auth/callback/credentials?x=1', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'next-auth.csrf-token=abc%7Cdef', origin: 'http://localhost:3000' },
      body: new ReadableStream<Uint8Array>({
        start(ctrl) {
          ctrl.enqueue(new TextEncoder().encode(form.slice(0, 10)));
          ctrl.enqueue(new TextEncoder().encode(form.slice(10)));
          ctrl.close();
        },
      }),
      duplex: 'half',
    } as ConstructorParameters<typeof NextRequest>[1]);
    const limited = await withBoundedBody(req, 64 * 1024, () => new AppError('PAYLOAD_TOO_LARGE', 'too large'));
    expect(limited.method).toBe('POST');
    expect(limited.nextUrl.searchParams.get('x')).toBe('1');
    expect(limited.cookies.get('next-auth.csrf-token')?.value).toBe('abc|def');
    expect(limited.headers.get('origin')).toBe('http://localhost:3000');
    expect(Object.fromEntries(new URLSearchParams(await limited.text()))).toEqual({ email: 'a@b.test', password: 'x', csrfToken: 't0k', callbackUrl: '/pools' });
  });
});
