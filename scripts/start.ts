/**
 * `npm start`: production start of web + worker. Configuration is validated first (no default
 * secret outside demo mode), migrations are applied, then both processes run.
 */
import { loadEnv } from '../lib/env';
import { build, migrate, needsBuild, prismaGenerate, say, startApp } from './lib/run';

async function main() {
  const e = loadEnv();
  const env: NodeJS.ProcessEnv = { ...process.env, NEXTAUTH_URL: process.env.NEXTAUTH_URL ?? e.PUBLIC_URL };
  prismaGenerate(env);
  migrate(env);
  if (needsBuild()) build(env);
  say(`web on ${e.HOST}:${process.env.PORT ?? 3000}, DICOM SCP on ${e.DICOM_BIND}:${e.DICOM_PORT}${e.DICOM_TLS_PORT ? `, DICOM TLS on ${e.DICOM_BIND}:${e.DICOM_TLS_PORT}` : ''}`);
  await startApp(env, { port: Number(process.env.PORT ?? 3000), host: e.HOST });
}

main().catch((err) => {
  process.stderr.write(`[tributary] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
