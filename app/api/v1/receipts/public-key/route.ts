import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { installationPublicKey } from '@/lib/receipts';

export const GET = route(api.getReceiptPublicKey, async () => {
  const k = await installationPublicKey();
  return { keyId: k.keyId, publicKeyPem: k.publicKeyPem, fingerprint: k.fingerprint, createdAt: k.createdAt.toISOString() };
});
