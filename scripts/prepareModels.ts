// Prepares public/models/: the official GoogLeNet (BVLC) and AlexNet weights reduced to the backbone's
// tensors (the app auto-loads them). Downloads from the official addresses unless a local file is given;
// offline it fails fast and says what to do instead.
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createBackbone, detectBackbone, readBackboneWeights, type BackboneId } from '../src/core/internal';
import { initNodeBackend } from '../src/core/node/backend';

/** The files the weights panel takes, named in the offline message. */
const DROPPABLE = ['bvlc_googlenet.caffemodel', 'alexnet-owt-7be5be79.pth', 'squeezenet1_1-b8a52dc0.pth'];
import { encodeWeightsFile } from '../src/core/model/weightsFile';

export const ALEXNET_URL = 'https://download.pytorch.org/models/alexnet-owt-7be5be79.pth';
/** The Caffe model zoo's address, as BVLC/caffe's models/bvlc_googlenet/readme.md gives it. */
export const GOOGLENET_URL = 'http://dl.caffe.berkeleyvision.org/bvlc_googlenet.caffemodel';

/** What `npm start` downloads when no local copy is given, GoogLeNet first: it is the default backbone. */
export const OFFICIAL_DOWNLOADS: { id: BackboneId; url: string; name: string; env: string; file: string }[] = [
  { id: 'googlenet', url: GOOGLENET_URL, name: 'GoogLeNet', env: 'DIFFERNET_GOOGLENET', file: 'bvlc_googlenet.caffemodel' },
  { id: 'alexnet', url: ALEXNET_URL, name: 'AlexNet', env: 'DIFFERNET_ALEXNET', file: 'alexnet-owt-7be5be79.pth' },
];

const NAME: Record<BackboneId, string> = { alexnet: 'AlexNet', squeezenet1_1: 'SqueezeNet 1.1', googlenet: 'GoogLeNet' };

export interface PrepareOptions {
  dir: string;
  /** Local files to use instead of downloading: torchvision (or DifferNet) .pth, BVLC GoogLeNet's .caffemodel. */
  alexnet?: string;
  squeezenet?: string;
  googlenet?: string;
  /** Other download addresses (tests serve them locally). */
  urls?: Partial<Record<BackboneId, string>>;
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
  // A write that fails, or that completes after the stream was torn down for a cut download, rejects here
  // instead of emitting an 'error' nobody listens to (which ends the process).
  const failed = new Promise<never>((_, reject) => out.on('error', reject));
  failed.catch(() => undefined);
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
      if (!out.write(value)) await Promise.race([new Promise((r) => out.once('drain', r)), failed]);
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

function convert(file: string, source: string, dir: string, expected: BackboneId, log: (l: string) => void): IndexEntry {
  log(`  reading ${file} (keeping only the backbone's tensors)…`);
  const sd = readBackboneWeights(new Uint8Array(readFileSync(file)));
  // A file of another network given for this one (--googlenet alexnet.pth) is named as such.
  const found = detectBackbone(sd);
  if (found !== expected) throw new Error(`it holds ${NAME[found]} weights, not ${NAME[expected]}`);
  const bb = createBackbone(sd, expected);
  try {
    const name = `${bb.id}.weights`;
    const bytes = encodeWeightsFile(bb.id, bb.weightsHash, source, bb.stateDict());
    writeFileSync(path.join(dir, `${name}.tmp`), bytes);
    renameSync(path.join(dir, `${name}.tmp`), path.join(dir, name));
    log(`  wrote ${path.join(dir, name)} (${(bytes.length / 1e6).toFixed(1)} MB, weights ${bb.weightsHash})`);
    return { id: bb.id, file: name, source, hash: bb.weightsHash };
  } finally {
    bb.dispose();
  }
}

/** Never throws: a failure is explained and the app starts without those weights; the others are unaffected. */
export async function prepareModels(opts: PrepareOptions): Promise<{ ready: BackboneId[]; problems: string[] }> {
  const log = opts.log ?? ((l: string) => console.log(l));
  mkdirSync(opts.dir, { recursive: true });
  let index = readIndex(opts.dir);
  const problems: string[] = [];
  const want: { id: BackboneId; local?: string }[] = OFFICIAL_DOWNLOADS.map((d) => ({ id: d.id, local: opts[d.id as 'googlenet' | 'alexnet'] }));
  if (opts.squeezenet) want.push({ id: 'squeezenet1_1', local: opts.squeezenet });
  let tfReady = false;
  for (const w of want) {
    if (!w.local && index.some((e) => e.id === w.id)) {
      log(`Weights: ${w.id} ready in ${opts.dir}.`);
      continue;
    }
    let file = w.local;
    let downloaded = false;
    let url: string | undefined;
    if (!file) {
      if (opts.offline) {
        problems.push(`${w.id}: not prepared (offline mode)`);
        continue;
      }
      const official = OFFICIAL_DOWNLOADS.find((d) => d.id === w.id)!;
      url = opts.urls?.[w.id] ?? official.url;
      log(`Weights: downloading the official ${official.name} file from ${url}`);
      try {
        file = await download(url, opts.connectTimeoutMs ?? 10_000, log);
        downloaded = true;
      } catch (e) {
        problems.push(
          `Could not download the ${official.name} weights from ${url} (${(e as Error).message}); this machine seems to be offline.\n` +
            `  The app starts anyway. Give it weights by dropping ${official.file} (or ${DROPPABLE.filter((f) => f !== official.file).join(', ')}) on its Models screen,\n` +
            `  or start it with a local copy:  ${official.env}=/path/to/${official.file} npm start`,
        );
        continue;
      }
    } else if (!existsSync(file)) {
      problems.push(`The ${NAME[w.id]} weights were not prepared: ${file} does not exist.`);
      continue;
    }
    try {
      if (!tfReady) {
        await initNodeBackend();
        tfReady = true;
      }
      // A download is named by its address's file name (the app shows it), not by the temporary file.
      const entry = convert(file, path.basename(url ? new URL(url).pathname : file), opts.dir, w.id, log);
      index = [...index.filter((e) => e.id !== entry.id), entry];
      writeFileSync(path.join(opts.dir, 'index.json'), JSON.stringify({ weights: index }, null, 1));
    } catch (e) {
      const kept = index.some((x) => x.id === w.id) ? ' (the ones prepared before are kept)' : '';
      problems.push(`The ${NAME[w.id]} weights were not prepared${kept}: ${downloaded ? `the file downloaded from ${url}` : file} is unusable (${(e as Error).message}).`);
    } finally {
      if (downloaded && file) rmSync(file, { force: true });
    }
  }
  return { ready: index.map((e) => e.id), problems };
}
