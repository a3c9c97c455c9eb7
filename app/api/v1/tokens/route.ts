import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { createToken, listTokens } from '@/lib/users/tokens';

export const GET = route(api.listTokens, async ({ actor }) => listTokens(actor));
export const POST = route(api.createToken, async ({ actor, body }) => createToken(actor, body));
