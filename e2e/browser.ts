// Debian Chromium driven by playwright-core (Playwright's own browser download cannot work here).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags without which Chromium keeps trying to reach Google's services from this closed network. */
const QUIET = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface LaunchOptions {
  /** Extra Chromium flags, e.g. the fake camera or WebGPU. */
  args?: string[];
  /** Reuse a profile (to test persistence across browser restarts). */
  userDataDir?: string;
  /** Let Chromium use the machine's GPU (the tests turn it off, so that every machine renders alike). */
  gpu?: boolean;
}

export interface Session {
  context: BrowserContext;
  page: Page;
  userDataDir: string;
  /** Messages the page logged as errors, and failed requests: a test can assert there were none. */
  problems: string[];
  /** Requests that went anywhere but the app's own origin. */
  foreignRequests: string[];
  close(opts?: { keepProfile?: boolean }): Promise<void>;
}

export async function launch(origin: string, opts: LaunchOptions = {}): Promise<Session> {
  const userDataDir = opts.userDataDir ?? mkdtempSync(path.join(tmpdir(), 'differnet-e2e-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...QUIET.filter((a) => !(opts.gpu && a === '--disable-gpu')), ...(opts.args ?? [])],
    viewport: { width: 1400, height: 1000 },
    acceptDownloads: true,
    ignoreDefaultArgs: ['--headless'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  const foreignRequests: string[] = [];
  const watch = (p: Page) => {
    p.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  };
  watch(page);
  context.on('page', watch);
  context.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')) foreignRequests.push(u);
  });
  return {
    context,
    page,
    userDataDir,
    problems,
    foreignRequests,
    async close(o = {}) {
      await context.close();
      if (!o.keepProfile && !opts.userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
