/**
 * docker compose's one-shot setup: migrations, demo seed, and synthetic patients loaded into the
 * Orthanc demo PACS over its REST API (if it holds nothing yet).
 */
import { migrate, say } from './lib/run';
import { orthancInstanceCount, orthancUpload } from './lib/orthanc';

async function main() {
  migrate(process.env);
  const { seedDemo } = await import('../lib/demo/seed');
  await seedDemo({ pacsHost: process.env.DEMO_PACS_HOST ?? 'orthanc', pacsPort: Number(process.env.DEMO_PACS_DICOM_PORT ?? 4242) });
  const url = process.env.DEMO_PACS_HTTP_URL ?? 'http://orthanc:8042';
  for (let i = 0; i < 60; i++) {
    try {
      if ((await orthancInstanceCount(url)) === 0) {
        const { demoPacsObjects } = await import('../lib/demo/pacs-data');
        const data = demoPacsObjects();
        await orthancUpload(url, data.buffers);
        say(`loaded ${data.buffers.length} synthetic instances into the demo PACS`);
      }
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  const { db } = await import('../lib/db');
  await db.$disconnect();
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`setup failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
