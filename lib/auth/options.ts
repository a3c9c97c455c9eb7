/**
 * next-auth configuration: credentials (e-mail + password, scrypt-hashed), JWT sessions.
 * Sign-in is rate-limited per account and per client address (lib/auth/rate-limit.ts,
 * lib/auth/client-address.ts). The session JWT carries the user's sessionVersion, compared on
 * every request (lib/auth/actor.ts). After sign-in only paths of this site are followed
 * (lib/auth/callback-url.ts).
 */
import type { NextAuthOptions } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import { z } from 'zod';
import { audit } from '../audit';
import { db } from '../db';
import { env } from '../env';
import { logger } from '../logger';
import { safeRedirect } from './callback-url';
import { clientAddress } from './client-address';
import { checkSignIn, reset } from './rate-limit';
import { hashPassword, needsRehash, verifyDummy, verifyPassword } from './password';

const log = logger('auth');
const credentialsSchema = z.object({ email: z.string().trim().toLowerCase().email().max(200), password: z.string().min(1).max(500) });

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
        const address = clientAddress(req?.headers as Record<string, unknown> | undefined, env().TRUSTED_PROXY_HOPS);
        const limit = await checkSignIn(email, address);
        if (!limit.allowed) throw new Error(`Too many sign-in attempts. Try again in ${Math.ceil(limit.retryAfter / 60)} min.`);
        const user = await db.user.findUnique({ where: { email } });
        const ok = user && user.active ? await verifyPassword(password, user.passwordHash) : await verifyDummy(password);
        if (!user || !ok) {
          await audit({ userId: user?.id ?? null, action: 'user.signin-failed' });
          return null;
        }
        await reset('signin-account', email);
        if (needsRehash(user.passwordHash)) {
          // Made with weaker scrypt parameters: replace it now that the password is known. Same
          // password, so sessions are not ended (sessionVersion stays); only if it is unchanged.
          await db.user
            .updateMany({ where: { id: user.id, passwordHash: user.passwordHash }, data: { passwordHash: await hashPassword(password) } })
            .catch((e: unknown) => log.warn('password rehash failed', { err: e instanceof Error ? e.name : 'unknown' }));
        }
        await audit({ userId: user.id, action: 'user.signin' });
        return { id: user.id, email: user.email, name: user.name, role: user.role, sessionVersion: user.sessionVersion };
      },
    }),
  ],
  callbacks: {
    async jwt({ token, user }) {
      if (user) {
        token.uid = (user as { id: string }).id;
        token.sv = (user as { sessionVersion?: number }).sessionVersion ?? 0;
      }
      return token;
    },
    async session({ session, token }) {
      (session as { uid?: string }).uid = token.uid as string | undefined;
      (session as { sv?: number }).sv = token.sv as number | undefined;
      return session;
    },
    async redirect({ url, baseUrl }) {
      return safeRedirect(url, baseUrl);
    },
  },
};
