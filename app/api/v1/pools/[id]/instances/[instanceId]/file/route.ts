import { Readable } from 'node:stream';
import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { audit } from '@/lib/audit';
import { getInstanceFile } from '@/lib/pools/studies';
import { openRead } from '@/lib/storage';

export const GET = route(api.getInstanceFile, async ({ actor, params }) => {
  const inst = await getInstanceFile(params.id, params.instanceId);
  await audit({ userId: actor.userId, action: 'study.download', poolId: params.id, targetType: 'instance', targetId: inst.id });
  const stream = Readable.toWeb(openRead(inst.path)) as ReadableStream;
  return new Response(stream, {
    headers: {
      'Content-Type': 'application/dicom',
      'Content-Length': String(inst.size),
      'Content-Disposition': `attachment; filename="${inst.sopInstanceUid}.dcm"`,
      'Cache-Control': 'private, no-store',
    },
  });
});
