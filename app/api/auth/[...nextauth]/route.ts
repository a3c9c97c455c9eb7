import NextAuth from 'next-auth';
import type { NextRequest } from 'next/server';
import { errorResponse } from '@/lib/api/handler';
import { sizeLabel, withBoundedBody } from '@/lib/api/read-body';
import { authOptions } from '@/lib/auth/options';
import { AppError } from '@/lib/errors';

const handler = NextAuth(authOptions);

/** Sign-in and sign-out posts are a few hundred bytes; next-auth itself would read any body whole. */
const AUTH_BODY_MAX_BYTES = 64 * 1024;

type Ctx = { params: Promise<{ nextauth: string[] }> };

/** next-auth's POSTs (sign-in, sign-out), handed a body read under a limit on the bytes received. */
async function POST(req: NextRequest, ctx: Ctx): Promise<Response> {
  let limited: NextRequest;
  try {
    limited = await withBoundedBody(req, AUTH_BODY_MAX_BYTES, () => new AppError('PAYLOAD_TOO_LARGE', `Sign-in requests are limited to ${sizeLabel(AUTH_BODY_MAX_BYTES)}`));
  } catch (e) {
    return errorResponse(e);
  }
  return handler(limited, ctx) as Promise<Response>;
}

export { handler as GET, POST };
