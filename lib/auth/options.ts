/**
 * next-auth configuration: credentials (e-mail + password, scrypt-hashed), JWT sessions.
 * Sign-in is rate-limited per account and per address (lib/auth/rate-limit.ts).
 */
import type { NextAuthOptions } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import { z } from 'zod';
import { audit } from '../audit';
import { db } from '../db';
import { env } from '../env';
import { checkSignIn, reset } from './rate-limit';
import { verifyDummy, verifyPassword } from './password';

const credentialsSchema = z.object({ email: z.string().trim().toLowerCase().email().max(200), password: z.string().min(1).max(500) });

function clientIp(headers: Record<string, unknown> | undefined): string {
  const fwd = headers?.['x-forwarded-for'];
  if (typeof fwd === 'string' && fwd) return fwd.split(',')[0].trim();
  const real = headers?.['x-real-ip'];
  return typeof real === 'string' ? real : '';
}

export const authOptions: NextAuthOptions = {
  // Read when next-auth uses the options (a request), not on import: `next build` needs no secret.
  get secret() {
    return env().TRIBUTARY_SECRET;
  },
  session: { strategy: 'jwt', maxAge: 8 * 60 * 60 },
  pages: { signIn: '/signin' },
  providers: [
    CredentialsProvider({
      name: 'Password',
      credentials: { email: { label: 'E-mail', type: 'email' }, password: { label: 'Password', type: 'password' } },
      async authorize(raw, req) {
        const parsed = credentialsSchema.safeParse(raw);
        if (!parsed.success) return null;
        const { email, password } = parsed.data;
        const limit = await checkSignIn(email, clientIp(req?.headers as Record<string, unknown> | undefined));
        if (!limit.allowed) throw new Error(`Too many sign-in attempts. Try again in ${Math.ceil(limit.retryAfter / 60)} min.`);
        const user = await db.user.findUnique({ where: { email } });
        const ok = user && user.active ? await verifyPassword(password, user.passwordHash) : await verifyDummy(password);
        if (!user || !ok) {
          await audit({ userId: user?.id ?? null, action: 'user.signin-failed' });
          return null;
        }
        await reset('signin-account', email);
        await audit({ userId: user.id, action: 'user.signin' });
        return { id: user.id, email: user.email, name: user.name, role: user.role };
      },
    }),
  ],
  callbacks: {
    async jwt({ token, user }) {
      if (user) token.uid = (user as { id: string }).id;
      return token;
    },
    async session({ session, token }) {
      (session as { uid?: string }).uid = token.uid as string | undefined;
      return session;
    },
  },
};
