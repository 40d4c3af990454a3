import { create } from 'zustand';
import type { BackboneId, ModelSettings } from '../../core';
import type { BackendChoice, BackendInfo, ProgressEvent, WeightsInfo } from '../../worker/protocol';
import { engine, wasmPaths } from '../engine';
import { softwareWebGl, softwareWebGlWarning } from '../lib/backend';
import { reportError, useNotices } from './notices';

const CHOICE_KEY = 'differnet.backend';

export interface WeightsJob {
  name: string;
  phase: 'download' | ProgressEvent['phase'];
  done: number;
  total: number;
}

/**
 * What the UI knows of the page's engine instance (the worker behind `engine()`): whether it started, the
 * TF.js backend it runs on, its presets and palette, and the backbone weights it holds. Weights are loaded
 * through services/weightsAndModels.ts, which writes the weights fields.
 */
interface EngineState {
  status: 'starting' | 'ready' | 'failed';
  startError: string | null;
  backend: BackendInfo | null;
  switching: boolean;
  palette: Uint8Array | null;
  presets: { default: ModelSettings; paper: ModelSettings } | null;
  weights: Partial<Record<BackboneId, WeightsInfo>>;
  weightsJob: WeightsJob | null;
  weightsError: string | null;
  /** Cancels the weights being loaded; null when none are. */
  weightsAbort: AbortController | null;
  /**
   * Starts the worker's backend; false when it failed (status 'failed'). The status stays 'starting' until
   * the weights are restored too (startEngine in services/weightsAndModels.ts, which also loads weights).
   */
  connect(): Promise<boolean>;
  setChoice(choice: BackendChoice): Promise<void>;
}

function savedChoice(): BackendChoice {
  const v = localStorage.getItem(CHOICE_KEY);
  return v === 'webgpu' || v === 'wasm' || v === 'webgl' || v === 'cpu' ? v : 'auto';
}

export const useEngine = create<EngineState>((set) => ({
  status: 'starting',
  startError: null,
  backend: null,
  switching: false,
  palette: null,
  presets: null,
  weights: {},
  weightsJob: null,
  weightsError: null,
  weightsAbort: null,

  async connect() {
    const client = engine();
    client.onEvent((e) => {
      if (e.event === 'backendChanged') {
        set({ backend: e.backend });
        useNotices.getState().push('warning', e.message);
      } else {
        useNotices.getState().push(e.level === 'warn' ? 'warning' : 'info', e.message);
      }
    });
    for (;;) {
      try {
        const r = await client.call('init', { wasmPaths: wasmPaths(), choice: savedChoice() });
        set({ backend: r.backend, palette: r.palette, presets: r.presets });
        return true;
      } catch (e) {
        if (savedChoice() === 'auto') {
          set({ status: 'failed', startError: (e as Error).message });
          return false;
        }
        // A remembered choice that no longer works (e.g. no GPU today) must not lock the app out.
        localStorage.removeItem(CHOICE_KEY);
        useNotices.getState().push('warning', `${(e as Error).message}; using automatic choice instead.`);
      }
    }
  },

  async setChoice(choice) {
    set({ switching: true });
    try {
      const info = await engine().call('setBackend', { choice });
      localStorage.setItem(CHOICE_KEY, choice);
      set({ backend: info });
    } catch (e) {
      reportError(e, `Cannot switch to ${choice}`);
      // The worker may be between backends; ask for automatic choice so it is usable again.
      try {
        set({ backend: await engine().call('setBackend', { choice: 'auto' }) });
        localStorage.removeItem(CHOICE_KEY);
      } catch (e2) {
        reportError(e2);
      }
    } finally {
      set({ switching: false });
    }
  },
}));

// Whatever put it there (start-up measurement, the user's choice, a fallback), WebGL on a software
// renderer is said once each time it becomes the backend: it was once chosen silently, 83 s for 3 images.
useEngine.subscribe((s, prev) => {
  if (s.backend !== prev.backend && softwareWebGl(s.backend) && !softwareWebGl(prev.backend)) useNotices.getState().push('warning', softwareWebGlWarning(s.backend!.adapter));
});
