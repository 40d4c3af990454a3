// What `npm start` prepares is picked up without a click; offline preparation fails fast and plainly;
// and the page cannot talk to other origins.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { prepareModels } from '../scripts/prepareModels';
import { serve, type RunningServer } from '../scripts/serve';
import { launch, type Session } from './browser';
import { open, text } from './app';
import { SQUEEZENET, tempDir } from './data';
import { sharedPath } from '../test/support/shared';

describe('start-up with prepared weights', () => {
  let server: RunningServer;
  let s: Session;
  let problems: string[];
  beforeAll(async () => {
    const dir = tempDir('models');
    // No network here: the AlexNet download gives up (connectTimeoutMs bounds it) and says why; GoogLeNet comes from a local copy.
    ({ problems } = await prepareModels({ dir, squeezenet: SQUEEZENET(), googlenet: sharedPath('weights', 'bvlc_googlenet.caffemodel'), connectTimeoutMs: 5000, log: () => undefined }));
    server = await serve({ root: path.resolve(import.meta.dirname, '../dist'), mounts: { '/models/': dir } });
    s = await launch(server.url.replace(/\/$/, ''));
  });
  afterAll(async () => {
    await s?.close();
    await server?.close();
  });

  it('explains an offline weights download instead of failing', () => {
    expect(problems).toHaveLength(1);
    expect(problems.join('\n')).toMatch(/Could not download the AlexNet weights .* offline.*\n.*The app starts anyway/);
  });

  it('loads the prepared weights by itself', async () => {
    await open(s.page, server.url, 'models');
    await expect.poll(() => text(s.page, '[data-testid="weights-squeezenet1_1"]'), { timeout: 60_000 }).toMatch(/loaded from squeezenet1_1-imagenet\.pth/);
    await expect.poll(() => text(s.page, '[data-testid="weights-googlenet"]'), { timeout: 60_000 }).toMatch(/loaded from bvlc_googlenet\.caffemodel/);
    expect(await text(s.page, '[data-testid="weights-alexnet"]')).toMatch(/not loaded/);
    // GoogLeNet prepared by `npm start` is what a new model picks.
    await open(s.page, server.url, 'teach');
    expect(await s.page.inputValue('[data-testid="new-model-backbone"]')).toBe('googlenet');
    expect(await s.page.locator('[data-testid="backbone-missing"]').count()).toBe(0);
    // AlexNet is offered, but says before a model is made with it that its weights are missing.
    expect(await text(s.page, '[data-testid="new-model-backbone"] option[value="alexnet"]')).toMatch(/weights not loaded/);
    await s.page.selectOption('[data-testid="new-model-backbone"]', 'alexnet');
    expect(await text(s.page, '[data-testid="backbone-missing"]')).toMatch(/^AlexNet's weights are not loaded in this browser/);
    await s.page.selectOption('[data-testid="new-model-backbone"]', 'googlenet');
  });

  it('blocks connections to other origins (Content-Security-Policy)', async () => {
    const outcome = await s.page.evaluate(async () => {
      const violations: string[] = [];
      // The report event follows the refused fetch: waited for (bounded), not slept on.
      const reported = new Promise<void>((resolve) =>
        document.addEventListener('securitypolicyviolation', (e) => {
          violations.push(e.violatedDirective);
          resolve();
        }),
      );
      const bounded = () => Promise.race([reported, new Promise<void>((r) => setTimeout(r, 10_000))]);
      try {
        await fetch('https://example.com/collect');
        return { fetched: true, violations };
      } catch {
        await bounded();
        return { fetched: false, violations };
      }
    });
    expect(outcome.fetched).toBe(false);
    expect(outcome.violations).toContain('connect-src');
    expect(await s.page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')).toMatch(/connect-src 'self' https:\/\/download\.pytorch\.org/);
    expect(s.problems.filter((p) => !/Content Security Policy|example\.com/.test(p))).toEqual([]);
  });
});

describe('official DifferNet checkpoint', () => {
  it('imports the backbone and the flow of a checkpoint as a model to calibrate', async () => {
    const server = await serve({ root: path.resolve(import.meta.dirname, '../dist') });
    const s = await launch(server.url.replace(/\/$/, ''));
    try {
      await open(s.page, server.url, 'models');
      await s.page.setInputFiles('[data-testid="weights-drop-files"]', sharedPath('reference', 'differnet-reference-small.pth'));
      await expect.poll(() => text(s.page, '[data-testid="weights-alexnet"]'), { timeout: 60_000 }).toMatch(/loaded from differnet-reference-small\.pth/);
      const row = s.page.locator('[data-testid="model-row"][data-model-name="DifferNet differnet-reference-small"]');
      await row.waitFor();
      // AlexNet, imported (v1), no threshold yet: Evaluate or Teach calibrates it.
      expect(await row.textContent()).toMatch(/AlexNet\s*v1\s*—\s*—/);
      expect(s.problems).toEqual([]);
    } finally {
      await s.close();
      await server.close();
    }
  });
});
