// First step of `npm test`: make a fresh machine able to run every suite, so that `npm install && npm test`
// is the whole set-up. The e2e suite needs Debian's Chromium; the PyTorch parity tests need a python3 with
// torch, torchvision, numpy and PIL to generate their references. Missing system packages are installed with
// apt-get when we are root on Debian; otherwise one line names the command to run. Then the fixtures are made
// once here, so that the parity tests' parallel workers find them ready.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fidelityFixtures, SKIP_ENV, torchPython } from './support/fixtures';

interface Need {
  what: string;
  packages: string[];
  present(): boolean;
}

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const needs: Need[] = [
  { what: 'Chromium for the end-to-end tests', packages: ['chromium'], present: () => existsSync(chromiumPath) },
  {
    what: 'python3 with torch, torchvision, numpy and PIL for the PyTorch parity fixtures',
    packages: ['python3-torch', 'python3-torchvision', 'python3-numpy', 'python3-pil'],
    present: () => process.env[SKIP_ENV] === '1' || torchPython() !== null,
  },
];

/** Runs quietly; dpkg's hundreds of lines are shown only when the command fails. */
function run(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 2 ** 20, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').slice(-40).join('\n') + '\n');
  return r.status === 0;
}

function canApt(): boolean {
  return process.getuid?.() === 0 && spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
}

function main(): number {
  const missing = needs.filter((n) => !n.present());
  if (missing.length) {
    const packages = missing.flatMap((n) => n.packages);
    const command = `apt-get update && apt-get install -y ${packages.join(' ')}`;
    if (!canApt()) {
      console.error(`npm test: missing ${missing.map((n) => n.what).join('; ')}. Run as root: ${command}`);
      return 1;
    }
    console.log(`npm test: installing ${packages.join(', ')} with apt-get (${missing.map((n) => n.what).join('; ')}); this takes a few minutes once.`);
    if (!run('apt-get', ['update', '-qq']) || !run('apt-get', ['install', '-y', '-qq', ...packages])) {
      console.error(`npm test: apt-get could not install ${packages.join(' ')}. Run as root: ${command}`);
      return 1;
    }
    const still = needs.filter((n) => !n.present());
    if (still.length) {
      console.error(`npm test: still missing after apt-get: ${still.map((n) => n.what).join('; ')}. Run as root: ${command}`);
      return 1;
    }
  }
  if (process.env[SKIP_ENV] !== '1') {
    const started = Date.now();
    const f = fidelityFixtures();
    console.log(`npm test: PyTorch parity fixtures ready in ${f?.dir} (${((Date.now() - started) / 1000).toFixed(1)} s).`);
  }
  return 0;
}

process.exit(main());
