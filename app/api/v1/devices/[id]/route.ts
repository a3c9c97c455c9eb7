import { api } from '@/lib/api/contract';
import { route } from '@/lib/api/handler';
import { deleteDevice, getDevice, updateDevice } from '@/lib/devices/devices';

export const GET = route(api.getDevice, async ({ params }) => getDevice(params.id));
export const PATCH = route(api.updateDevice, async ({ actor, params, body }) => updateDevice(actor, params.id, body));
export const DELETE = route(api.deleteDevice, async ({ actor, params }) => deleteDevice(actor, params.id));
