import { useHostForward } from '../../core/features/hostForward';
import { browserFlowThreads } from '../flowThreads';
import { DEFAULT_SETTINGS, PAPER_SETTINGS } from '../../core/model/settings';
import { heatPalette } from '../../core/heatmap';
import type { Engine, Handlers } from './types';

export function backendHandlers({ backends }: Engine): Pick<Handlers, 'init' | 'setBackend'> {
  return {
    init: async ({ wasmPaths, choice, wasmThreads }) => {
      backends.wasmPaths = wasmPaths;
      backends.wasmThreads = wasmThreads ?? null;
      if (wasmThreads) {
        // The cap holds for the engine's own kernels too: the Live screen's map engine asks for one thread,
        // and a helper beside it would contend with the verdict engine's threads for the same cores.
        const t = browserFlowThreads();
        useHostForward(t ? { ...t, helpers: Math.min(t.helpers, wasmThreads - 1) } : { helpers: 0 });
      }
      const backend = await backends.run('start-up', undefined, () => backends.choose(choice));
      const palette = heatPalette();
      return { result: { backend, palette, presets: { default: DEFAULT_SETTINGS, paper: PAPER_SETTINGS } } };
    },

    setBackend: async ({ choice }, ctx) => ({ result: await backends.run('backend change', ctx.signal, () => backends.choose(choice)) }),
  };
}
