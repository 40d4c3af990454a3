import { DEFAULT_SETTINGS, PAPER_SETTINGS } from '../../core/model/settings';
import { heatPalette } from '../../core/heatmap';
import type { Engine, Handlers } from './types';

export function backendHandlers({ backends }: Engine): Pick<Handlers, 'init' | 'setBackend'> {
  return {
    init: async ({ wasmPaths, choice, wasmThreads }) => {
      backends.wasmPaths = wasmPaths;
      backends.wasmThreads = wasmThreads ?? null;
      if (wasmThreads) backends.capThreads(wasmThreads);
      const backend = await backends.run('start-up', undefined, () => backends.choose(choice));
      const palette = heatPalette();
      return { result: { backend, palette, presets: { default: DEFAULT_SETTINGS, paper: PAPER_SETTINGS } } };
    },

    setBackend: async ({ choice }, ctx) => ({ result: await backends.run('backend change', ctx.signal, () => backends.choose(choice)) }),
  };
}
