import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { createDevice, listDevices } from '@/lib/devices/devices';

export const GET = route(api.listDevices, async () => listDevices());
export const POST = route(api.createDevice, async ({ actor, body }) => createDevice(actor, body));
