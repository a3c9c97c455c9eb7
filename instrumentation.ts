/**
 * Runs once when the Next.js server starts (not during `next build`): the configuration is
 * validated here, so `next start` with a missing secret or database URL stops at once with a
 * message naming the variables, instead of failing at the first request.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { env, ConfigError } = await import('./lib/env');
  try {
    env();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}
