/**
 * `npm run demo`: the app with demo data on one machine.
 *  1. PostgreSQL database (created if missing and local trust allows), migrations.
 *  2. A demo PACS: a private Orthanc on 4242/8042 holding synthetic patients, which knows
 *     Tributary's two AEs (query TRIB_QUERY, move destination TRIB_RECEIVE).
 *  3. Demo users, pools, device and connector (demo mode only).
 *  4. next build (first run), then web on PORT (3000) and the worker (SCP on DICOM_PORT 11112).
 */
import path from 'node:path';
import { build, ensureDatabase, migrate, needsBuild, prismaGenerate, ROOT, say, startApp } from './lib/run';
import { orthancAvailable, orthancInstanceCount, orthancUpload, startOrthancProcess, type OrthancProcess } from './lib/orthanc';

async function main() {
  const env: NodeJS.ProcessEnv = { ...process.env, TRIBUTARY_MODE: 'demo' };
  env.DATABASE_URL ??= 'postgresql://tributary@127.0.0.1:5432/tributary';
  env.PORT ??= '3000';
  env.PUBLIC_URL ??= `http://localhost:${env.PORT}`;
  env.NEXTAUTH_URL ??= env.PUBLIC_URL;
  env.DICOM_PORT ??= '11112';
  env.DICOM_ADVERTISED_HOST ??= '127.0.0.1';
  Object.assign(process.env, env);

  say('preparing the database…');
  await ensureDatabase(env.DATABASE_URL!);
  prismaGenerate(env);
  migrate(env);

  const pacsDicomPort = Number(env.DEMO_PACS_DICOM_PORT ?? 4242);
  const pacsHttpPort = Number(env.DEMO_PACS_HTTP_PORT ?? 8042);
  let pacs: OrthancProcess | null = null;
  const { DEMO, seedDemo } = await import('../lib/demo/seed');
  if (orthancAvailable()) {
    say(`starting the demo PACS (Orthanc, DICOM ${pacsDicomPort}, HTTP ${pacsHttpPort})…`);
    pacs = await startOrthancProcess({
      dir: path.join(ROOT, 'var', 'demo-pacs'),
      aet: DEMO.pacsAe,
      dicomPort: pacsDicomPort,
      httpPort: pacsHttpPort,
      dicomWeb: false,
      name: 'Tributary demo PACS',
      modalities: {
        [DEMO.queryAe]: [DEMO.queryAe, '127.0.0.1', Number(env.DICOM_PORT)],
        [DEMO.receiveAe]: [DEMO.receiveAe, '127.0.0.1', Number(env.DICOM_PORT)],
      },
    });
    if ((await orthancInstanceCount(pacs.httpUrl)) === 0) {
      const { demoPacsObjects } = await import('../lib/demo/pacs-data');
      const data = demoPacsObjects();
      await orthancUpload(pacs.httpUrl, data.buffers);
      say(`loaded ${data.buffers.length} synthetic instances of ${data.mrns.length + data.burnedInMrns.length} patients into the demo PACS`);
      say(`demo MRNs: ${data.mrns.join(', ')}`);
      say(`with text burned into the pixels (ultrasound, secondary capture; held in quarantine): ${data.burnedInMrns.join(', ')}`);
    }
  } else {
    say('Orthanc is not installed (apt-get install -y orthanc): the demo runs without a PACS to query.');
  }

  await seedDemo({ pacsHost: '127.0.0.1', pacsPort: pacsDicomPort });
  const { db } = await import('../lib/db');
  await db.$disconnect();

  if (needsBuild()) build(env);
  say(`open ${env.PUBLIC_URL} and sign in as ${env.DEMO_ADMIN_EMAIL ?? 'admin@tributary.local'} / ${env.DEMO_ADMIN_PASSWORD ? '(DEMO_ADMIN_PASSWORD)' : 'tributary-demo'}`);
  say(`also: ${DEMO.ownerEmail} (owner of the cardiac pool), ${DEMO.coordinatorEmail}, ${DEMO.researcherEmail}, ${DEMO.otherResearcherEmail} (password ${DEMO.demoUserPassword})`);
  await startApp(env, { port: Number(env.PORT), onStop: async () => pacs?.stop() });
}

main().catch((e) => {
  process.stderr.write(`[tributary] demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
