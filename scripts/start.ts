// `npm start`: prepare weights when missing, build the app when it is out of date, and serve it with
// the headers it needs. Options: --port N, --host H, --googlenet FILE, --alexnet FILE, --squeezenet FILE,
// --offline, --no-build; or the environment variables DIFFERNET_GOOGLENET, DIFFERNET_ALEXNET,
// DIFFERNET_SQUEEZENET, DIFFERNET_OFFLINE=1, PORT.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { prepareModels } from './prepareModels';
import { serve } from './serve';

const root = path.resolve(import.meta.dirname, '..');

function newest(p: string): number {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(p).filter((f) => f !== 'models').map((f) => newest(path.join(p, f))));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      googlenet: { type: 'string' },
      alexnet: { type: 'string' },
      squeezenet: { type: 'string' },
      offline: { type: 'boolean' },
      'no-build': { type: 'boolean' },
    },
  });
  const modelsDir = path.join(root, 'public', 'models');
  const { ready, problems } = await prepareModels({
    dir: modelsDir,
    googlenet: values.googlenet ?? process.env.DIFFERNET_GOOGLENET,
    alexnet: values.alexnet ?? process.env.DIFFERNET_ALEXNET,
    squeezenet: values.squeezenet ?? process.env.DIFFERNET_SQUEEZENET,
    offline: values.offline || process.env.DIFFERNET_OFFLINE === '1',
  });
  for (const p of problems) console.warn(`\n${p}\n`);

  const dist = path.join(root, 'dist');
  const built = newest(path.join(dist, 'index.html'));
  const sources = Math.max(...['src', 'public', 'index.html', 'vite.config.ts', 'package.json'].map((f) => newest(path.join(root, f))));
  if (!values['no-build'] && (!built || sources > built)) {
    console.log('Building the app…');
    execFileSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
      cwd: root,
      stdio: 'inherit',
      // A NODE_ENV left in the shell (say, test) would make Vite build React's development flavour, without the service worker.
      env: { ...process.env, NODE_ENV: 'production', VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' },
    });
  }
  const s = await serve({
    root: dist,
    port: Number(values.port ?? process.env.PORT ?? 4173),
    host: values.host ?? '127.0.0.1',
    // Weights prepared after the build are served from public/models directly.
    mounts: existsSync(modelsDir) ? { '/models/': modelsDir } : {},
  });
  console.log(`\nDifferNet Inspector is running at ${s.url}`);
  console.log(ready.length ? `Backbone weights ready: ${ready.join(', ')}.` : 'No backbone weights prepared: the app explains how to add them (Models screen).');
  console.log('Everything runs in your browser; press Ctrl+C to stop.');
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
