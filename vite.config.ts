import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { SECURITY_HEADERS, ISOLATION_HEADERS } from './scripts/headers';
import { appManifest, cspMeta, precacheManifest, tfjsWasm } from './scripts/vitePlugins';

export default defineConfig({
  // Relative URLs, so the built app runs from any folder of any static host.
  base: './',
  plugins: [react(), tfjsWasm(), cspMeta(), appManifest(), precacheManifest()],
  worker: {
    format: 'es',
    // TF.js's threaded WASM backend rebuilds its thread workers from its factory's source text
    // (Function.toString): renamed identifiers, or a `typeof x` guard folded away because the bundle
    // declares x, break them. Only whitespace is removed from the worker bundle.
    rolldownOptions: { output: { minify: { compress: false, mangle: false, codegen: true } } },
  },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: SECURITY_HEADERS },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096, sourcemap: false },
});
