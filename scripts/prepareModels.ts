// Prepares public/models/: the official AlexNet weights reduced to the backbone's tensors (the app
// auto-loads them). Downloads from the address the paper's code uses unless a local file is given;
// offline it fails fast and says what to do instead.
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createBackbone, isBackboneKey, readPth, type BackboneId } from '../src/core/internal';
import { initNodeBackend } from '../src/core/node/backend';
import { encodeWeightsFile } from '../src/core/model/weightsFile';

export const ALEXNET_URL = 'https://download.pytorch.org/models/alexnet-owt-7be5be79.pth';

export interface PrepareOptions {
  dir: string;
  /** Local torchvision (or DifferNet) files to use instead of downloading. */
  alexnet?: string;
  squeezenet?: string;
  /** Skip the download attempt. */
  offline?: boolean;
  /** No response within this many ms counts as offline. */
  connectTimeoutMs?: number;
  log?: (line: string) => void;
}

interface IndexEntry {
  id: BackboneId;
  file: string;
  source: string;
  hash: string;
}

function readIndex(dir: string): IndexEntry[] {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { weights: IndexEntry[] }).weights.filter((w) => existsSync(path.join(dir, w.file)));
  } catch {
    return [];
  }
}

function bar(done: number, total: number): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  if (!total) return `  ${mb(done)} MB`;
  const w = 30;
  const f = Math.round((w * done) / total);
  return `  [${'#'.repeat(f)}${' '.repeat(w - f)}] ${Math.floor((100 * done) / total)}%  ${mb(done)} / ${mb(total)} MB`;
}

/** Streams `url` to a temporary file with a progress bar; rejects quickly when there is no network. */
async function download(url: string, connectTimeoutMs: number, log: (l: string) => void): Promise<string> {
  const ac = new AbortController();
  let timer = setTimeout(() => ac.abort(new Error(`no answer within ${connectTimeoutMs / 1000} s`)), connectTimeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { signal: ac.signal });
  } catch (e) {
    clearTimeout(timer);
    const err = e as Error & { cause?: { code?: string; message?: string } };
    throw new Error(err.cause?.code ?? err.cause?.message ?? (ac.signal.reason as Error | undefined)?.message ?? err.message, { cause: e });
  }
  clearTimeout(timer);
  if (!res.ok || !res.body) throw new Error(`the server answered ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get('content-length')) || 0;
  const tmp = path.join(tmpdir(), `differnet-${process.pid}-${path.basename(new URL(url).pathname)}`);
  const out = createWriteStream(tmp);
  let done = 0;
  let lastDraw = 0;
  const tty = process.stderr.isTTY;
  try {
    const reader = res.body.getReader();
    for (;;) {
      // A stalled transfer must not hang `npm start` forever.
      timer = setTimeout(() => ac.abort(new Error('the download stalled for 30 s')), 30_000);
      const { value, done: end } = await reader.read();
      clearTimeout(timer);
      if (end) break;
      done += value.length;
      if (!out.write(value)) await new Promise((r) => out.once('drain', r));
      const now = Date.now();
      if (now - lastDraw > 200) {
        lastDraw = now;
        if (tty) process.stderr.write(`\r${bar(done, total)}`);
      }
    }
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    if (tty) process.stderr.write(`\r${bar(done, total)}\n`);
    else log(bar(done, total));
    if (total && done !== total) throw new Error(`the download ended early (${done} of ${total} bytes)`);
    return tmp;
  } catch (e) {
    out.destroy();
    rmSync(tmp, { force: true });
    throw e;
  }
}

function convert(file: string, dir: string, expected: BackboneId | undefined, log: (l: string) => void): IndexEntry {
  log(`  reading ${file} (keeping only the backbone's tensors)…`);
  const sd = readPth(new Uint8Array(readFileSync(file)), { include: isBackboneKey });
  const bb = createBackbone(sd, expected);
  try {
    const name = `${bb.id}.weights`;
    const bytes = encodeWeightsFile(bb.id, bb.weightsHash, path.basename(file), bb.stateDict());
    writeFileSync(path.join(dir, `${name}.tmp`), bytes);
    renameSync(path.join(dir, `${name}.tmp`), path.join(dir, name));
    log(`  wrote ${path.join(dir, name)} (${(bytes.length / 1e6).toFixed(1)} MB, weights ${bb.weightsHash})`);
    return { id: bb.id, file: name, source: path.basename(file), hash: bb.weightsHash };
  } finally {
    bb.dispose();
  }
}

/** Never throws: a failure is explained and the app starts without prepared weights. */
export async function prepareModels(opts: PrepareOptions): Promise<{ ready: BackboneId[]; problems: string[] }> {
  const log = opts.log ?? ((l: string) => console.log(l));
  mkdirSync(opts.dir, { recursive: true });
  let index = readIndex(opts.dir);
  const problems: string[] = [];
  const want: { id: BackboneId; local?: string }[] = [{ id: 'alexnet', local: opts.alexnet }];
  if (opts.squeezenet) want.push({ id: 'squeezenet1_1', local: opts.squeezenet });
  let tfReady = false;
  for (const w of want) {
    if (!w.local && index.some((e) => e.id === w.id)) {
      log(`Weights: ${w.id} ready in ${opts.dir}.`);
      continue;
    }
    let file = w.local;
    let downloaded = false;
    if (!file) {
      if (opts.offline) {
        problems.push(`${w.id}: not prepared (offline mode)`);
        continue;
      }
      log(`Weights: downloading the official AlexNet file from ${ALEXNET_URL}`);
      try {
        file = await download(ALEXNET_URL, opts.connectTimeoutMs ?? 10_000, log);
        downloaded = true;
      } catch (e) {
        problems.push(
          `Could not download the AlexNet weights from ${ALEXNET_URL} (${(e as Error).message}); this machine seems to be offline.\n` +
            `  The app starts anyway. Give it weights by dropping alexnet-owt-7be5be79.pth or squeezenet1_1-b8a52dc0.pth on its Models screen,\n` +
            `  or start it with a local copy:  DIFFERNET_ALEXNET=/path/to/alexnet-owt-7be5be79.pth npm start`,
        );
        continue;
      }
    } else if (!existsSync(file)) {
      problems.push(`${w.id}: ${file} does not exist`);
      continue;
    }
    try {
      if (!tfReady) {
        await initNodeBackend();
        tfReady = true;
      }
      const entry = convert(file, opts.dir, w.id, log);
      index = [...index.filter((e) => e.id !== entry.id), entry];
      writeFileSync(path.join(opts.dir, 'index.json'), JSON.stringify({ weights: index }, null, 1));
    } catch (e) {
      problems.push(`${w.id}: ${file} could not be used: ${(e as Error).message}`);
    } finally {
      if (downloaded && file) rmSync(file, { force: true });
    }
  }
  return { ready: index.map((e) => e.id), problems };
}
