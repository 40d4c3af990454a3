// Accessibility check for the e2e suite: axe-core when it is installed (devDependency `axe-core`),
// otherwise a small built-in subset of axe's serious and critical rules, so the check still runs.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

export interface A11yViolation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

function axeSource(): string | null {
  try {
    // AXE_CORE_PATH: an axe.min.js outside node_modules (an unpacked `npm pack axe-core`).
    const file = process.env.AXE_CORE_PATH ?? createRequire(import.meta.url).resolve('axe-core/axe.min.js');
    return existsSync(file) ? readFileSync(file, 'utf8') : null;
  } catch {
    return null;
  }
}

/** Serious and critical violations on the page as it is now; `engine` says which checker found them. */
export async function seriousViolations(page: Page): Promise<{ engine: 'axe-core' | 'built-in'; violations: A11yViolation[] }> {
  const src = axeSource();
  if (src) {
    // Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern.
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(src);
    const found = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
      const r = await axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact ?? '', help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
    });
    return { engine: 'axe-core', violations: found.filter((v) => v.impact === 'serious' || v.impact === 'critical') };
  }
  return { engine: 'built-in', violations: await page.evaluate(builtInCheck) };
}

/**
 * The rules of axe that most often fail in a React app, at axe's impact: names of buttons, links, images
 * and form controls (critical), duplicate ids referenced by ARIA, and text colour contrast (serious).
 */
function builtInCheck(): A11yViolation[] {
  const out: A11yViolation[] = [];
  const add = (id: string, impact: string, help: string, el: Element) => {
    const sel = el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}${el.getAttribute('data-testid') ? `[data-testid="${el.getAttribute('data-testid')}"]` : el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}`;
    const v = out.find((x) => x.id === id);
    if (v) {
      if (v.targets.length < 5) v.targets.push(sel);
    } else out.push({ id, impact, help, targets: [sel] });
  };
  const visible = (el: Element) => {
    const r = (el as HTMLElement).getBoundingClientRect();
    const cs = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none' && !el.closest('[aria-hidden="true"],[hidden]');
  };
  const byIds = (ids: string | null) => (ids ?? '').split(/\s+/).filter(Boolean).map((id) => document.getElementById(id)?.textContent ?? '').join(' ');
  const name = (el: Element): string => {
    const aria = el.getAttribute('aria-label') || byIds(el.getAttribute('aria-labelledby'));
    if (aria.trim()) return aria.trim();
    if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement) {
      const labels = el.labels ? Array.from(el.labels).map((l) => l.textContent ?? '').join(' ') : '';
      return (labels || el.getAttribute('title') || (el instanceof HTMLInputElement && el.type !== 'file' ? el.placeholder : '') || '').trim();
    }
    const alt = Array.from(el.querySelectorAll('img[alt]')).map((i) => i.getAttribute('alt')).join(' ');
    return ((el.textContent ?? '') + alt || el.getAttribute('title') || '').trim();
  };
  for (const el of document.querySelectorAll('button, [role="button"]')) if (visible(el) && !name(el)) add('button-name', 'critical', 'Buttons must have discernible text', el);
  for (const el of document.querySelectorAll('a[href]')) if (visible(el) && !name(el)) add('link-name', 'serious', 'Links must have discernible text', el);
  for (const el of document.querySelectorAll('img')) if (!el.hasAttribute('alt') && !el.closest('[aria-hidden="true"]') && el.getAttribute('role') !== 'presentation') add('image-alt', 'critical', 'Images must have alternate text', el);
  for (const el of document.querySelectorAll('input:not([type="hidden"]), select, textarea')) {
    const input = el as HTMLInputElement;
    if (input.type === 'file' && getComputedStyle(input).display === 'none') continue;
    if ((visible(el) || input.type === 'file') && !name(el)) add(el.tagName === 'SELECT' ? 'select-name' : 'label', 'critical', 'Form elements must have labels', el);
  }
  for (const el of document.querySelectorAll('[role="img"], canvas[role]')) if (!name(el)) add('role-img-alt', 'serious', '[role="img"] elements must have an alternative text', el);
  for (const el of document.querySelectorAll('[role="dialog"], [role="alertdialog"]')) if (!name(el)) add('aria-dialog-name', 'serious', 'ARIA dialog nodes should have an accessible name', el);
  const ids = new Map<string, number>();
  for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) ?? 0) + 1);
  for (const el of document.querySelectorAll('[aria-labelledby], [aria-describedby], label[for]')) {
    for (const id of `${el.getAttribute('aria-labelledby') ?? ''} ${el.getAttribute('aria-describedby') ?? ''} ${el.getAttribute('for') ?? ''}`.split(/\s+/).filter(Boolean)) {
      if ((ids.get(id) ?? 0) > 1) add('duplicate-id-aria', 'critical', 'IDs used in ARIA and labels must be unique', el);
    }
  }
  // Contrast of text on its nearest opaque background.
  const rgba = (c: string) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = (c: { r: number; g: number; b: number }) => {
    const f = (v: number) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = (el: Element) => {
    for (let e: Element | null = el; e; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.backgroundImage !== 'none' && !/gradient/.test(cs.backgroundImage)) return null;
      const c = rgba(cs.backgroundColor);
      if (c && c.a >= 0.99) return c;
      if (c && c.a > 0.05) return null; // translucent layers: not judged
    }
    return { r: 15, g: 20, b: 25, a: 1 };
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set<Element>();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || seen.has(el) || !(n.textContent ?? '').trim()) continue;
    seen.add(el);
    if (!visible(el) || el.closest('button:disabled, [aria-disabled="true"], fieldset:disabled, option, select:disabled, input:disabled, svg')) continue;
    const cs = getComputedStyle(el);
    const fg = rgba(cs.color);
    const bg = background(el);
    if (!fg || !bg) continue;
    let opacity = fg.a;
    for (let e: Element | null = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
    const mix = (f: number, b: number) => f * opacity + b * (1 - opacity);
    const shown = { r: mix(fg.r, bg.r), g: mix(fg.g, bg.g), b: mix(fg.b, bg.b) };
    const [hi, lo] = [lum(shown), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(cs.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) add('color-contrast', 'serious', `Text contrast ${ratio.toFixed(2)}:1 is below ${large ? 3 : 4.5}:1`, el);
  }
  return out;
}
