import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';
import type { E2eWorld } from './world';

export function world(): E2eWorld {
  return JSON.parse(readFileSync(path.resolve(import.meta.dirname, '..', '..', 'test-results', 'e2e-state.json'), 'utf8'));
}

export async function signIn(page: Page, email: string, password: string) {
  await page.goto('/signin');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/pools');
}
