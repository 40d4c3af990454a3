// Builds the app (unless E2E_SKIP_BUILD=1 and dist/ exists) and serves dist/ as `npm start` would.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { serve, type RunningServer } from '../scripts/serve';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

const root = path.resolve(import.meta.dirname, '..');
let server: RunningServer | null = null;

export async function setup(project: TestProject): Promise<void> {
  const dist = path.join(root, 'dist');
  if (process.env.E2E_SKIP_BUILD !== '1' || !existsSync(path.join(dist, 'index.html'))) {
    execFileSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
      cwd: root,
      stdio: 'inherit',
      // Vitest sets NODE_ENV=test, which would make Vite build React's development flavour without the service worker.
      env: { ...process.env, NODE_ENV: 'production', VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' },
    });
  }
  server = await serve({ root: dist });
  project.provide('baseUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.close();
}
