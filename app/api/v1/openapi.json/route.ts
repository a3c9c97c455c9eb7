import { NextResponse } from 'next/server';
import { buildOpenApi } from '@/lib/api/openapi';

export const GET = () => NextResponse.json(buildOpenApi());
