import { useCallback, useEffect, useRef, useState } from 'react';
import type { BackendChoice, BackendInfo } from '../../worker/protocol';
import { softwareWebGl } from '../lib/backend';
import { BACKBONE_LABEL } from '../lib/format';
import { useEngine } from '../stores/engine';
import { useModels } from '../stores/models';
import { SCREENS, type ScreenId } from '../screens';

const CHOICES: { value: BackendChoice; label: string }[] = [
  { value: 'auto', label: 'Automatic' },
  { value: 'webgpu', label: 'WebGPU' },
  { value: 'wasm', label: 'WASM' },
  { value: 'webgl', label: 'WebGL' },
  { value: 'cpu', label: 'CPU (slow)' },
];

/** Why a backend cannot be chosen here, or a caution; from what start-up found. */
function availability(c: BackendChoice, backend: BackendInfo | null): { disabled: boolean; note: string } {
  if (!backend || c === 'auto' || c === 'cpu' || c === 'wasm') return { disabled: false, note: '' };
  if (c === 'webgpu') {
    if (!backend.webgpu) return { disabled: true, note: ' (unavailable: no adapter)' };
    if (backend.webgpu.software) return { disabled: false, note: ' (software adapter: slow)' };
    return { disabled: false, note: '' };
  }
  const m = backend.measurements.find((x) => x.backend === c);
  // A probe that timed out still runs, only slowly; one that threw would fail again.
  if (m && m.ms === null && !/^slower than/.test(m.note)) return { disabled: true, note: ' (unavailable)' };
  return { disabled: false, note: '' };
}

/**
 * On a narrow screen the tabs scroll sideways: keep the active one in view on every screen change, and say
 * on which side more tabs hide (the nav fades out there). Scrolls the nav only, never the page.
 */
function useTabStrip(screen: ScreenId) {
  const ref = useRef<HTMLElement>(null);
  const [more, setMore] = useState({ left: false, right: false });
  const measure = useCallback(() => {
    const nav = ref.current;
    if (!nav) return;
    const left = nav.scrollLeft > 1;
    const right = nav.scrollLeft + nav.clientWidth < nav.scrollWidth - 1;
    setMore((m) => (m.left === left && m.right === right ? m : { left, right }));
  }, []);
  const centreActive = useCallback(() => {
    const nav = ref.current;
    const active = nav?.querySelector<HTMLElement>('a.active');
    if (nav && active && nav.scrollWidth > nav.clientWidth) {
      const target = active.offsetLeft - (nav.clientWidth - active.offsetWidth) / 2;
      nav.scrollTo({ left: Math.max(0, Math.min(target, nav.scrollWidth - nav.clientWidth)) });
    }
    measure();
  }, [measure]);
  useEffect(centreActive, [screen, centreActive]);
  // A narrower window (a phone turned, a window resized) can push the active tab out of the strip.
  useEffect(() => {
    const nav = ref.current;
    if (!nav) return;
    const ro = new ResizeObserver(centreActive);
    ro.observe(nav);
    return () => ro.disconnect();
  }, [centreActive]);
  return { ref, more, onScroll: measure };
}

export function Header({ screen }: { screen: ScreenId }) {
  const { backend, status, switching, setChoice } = useEngine();
  const { records, activeId, setActive } = useModels();
  const tabs = useTabStrip(screen);
  const active = records.find((r) => r.id === activeId);
  return (
    <header className="app-header">
      <div className="brand">
        <span className="logo" aria-hidden>
          ◎
        </span>
        <span className="brand-name">DifferNet</span>
        <span className="brand-rest"> Inspector</span>
      </div>
      <nav aria-label="Screens" ref={tabs.ref} onScroll={tabs.onScroll} data-more-left={tabs.more.left || undefined} data-more-right={tabs.more.right || undefined} data-testid="screen-tabs">
        {SCREENS.map((s) => (
          <a key={s.id} href={`#/${s.id}`} className={s.id === screen ? 'active' : ''} aria-current={s.id === screen ? 'page' : undefined}>
            {s.title}
          </a>
        ))}
      </nav>
      <div className="header-right">
        <a href="#/help" className={`help-link${screen === 'help' ? ' active' : ''}`} aria-current={screen === 'help' ? 'page' : undefined} title="Help: the score, the threshold, the heatmap; press ? for the shortcuts" data-testid="help-link">
          <span aria-hidden>?</span>
          <span className="visually-hidden">Help</span>
        </a>
        <label className="compact">
          <span className="muted small header-label">Model</span>
          <select
            value={activeId ?? ''}
            onChange={(e) => setActive(e.target.value || null)}
            aria-label="Active model"
            data-testid="active-model"
            title={active ? `${active.name} · ${BACKBONE_LABEL[active.backbone]}${active.version === 0 ? ' (untrained)' : ''}` : undefined}
          >
            {records.length === 0 && <option value="">No models yet</option>}
            {records.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name} · {BACKBONE_LABEL[r.backbone]}
                {r.version === 0 ? ' (untrained)' : ''}
              </option>
            ))}
          </select>
        </label>
        <label
          className="compact"
          data-testid="backend-reason"
          title={
            backend
              ? [backend.reason, ...backend.measurements.map((m) => `${m.backend}: ${m.note}`), backend.crossOriginIsolated ? '' : 'not cross-origin isolated: WASM runs single-threaded'].filter(Boolean).join('\n')
              : undefined
          }
        >
          <span className="muted small header-label">Backend</span>
          <span className={`backend-badge${(backend?.name === 'webgpu' && backend.webgpu?.software) || softwareWebGl(backend) ? ' warn' : ''}`} data-testid="backend-badge" data-backend={backend?.name ?? ''} title={backend ? `${backend.name.toUpperCase()} · ${backend.adapter}${softwareWebGl(backend) ? ' (software renderer: slow; choose WASM)' : ''}` : undefined}>
            {status === 'starting' && !backend ? 'measuring…' : backend ? `${backend.name.toUpperCase()} · ${backend.adapter}` : 'none'}
          </span>
          <select value={backend?.choice ?? 'auto'} disabled={!backend || switching} onChange={(e) => void setChoice(e.target.value as BackendChoice)} aria-label="Backend choice" data-testid="backend-choice">
            {CHOICES.map((c) => {
              const a = availability(c.value, backend);
              return (
                <option key={c.value} value={c.value} disabled={a.disabled}>
                  {c.label}
                  {a.note}
                </option>
              );
            })}
          </select>
        </label>
      </div>
    </header>
  );
}
