#!/usr/bin/env node
// The `tributary` command: loads the TypeScript CLI through tsx (a runtime dependency), so the
// CLI runs the same lib/ code as the web app and the workers without a separate build.
import { register } from 'tsx/esm/api';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

register();
const here = path.dirname(fileURLToPath(import.meta.url));
const { main } = await import(pathToFileURL(path.join(here, 'cli.ts')).href);
await main(process.argv);
