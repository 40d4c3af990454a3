/**
 * Threads for TF.js's own WebAssembly pool in an engine that may use `cores` cores, where `hostKernels` says
 * whether the engine's WebAssembly kernels (which split their work over helper threads of their own,
 * wasm/helperPool.ts) run the backbones and the flow.
 *
 * With the kernels, TF.js runs only the small ops around them (resizing a frame, a score's flow, a map's
 * rotation and blur), which its pool's second thread sped up by nothing measurable, while every op of a
 * two-thread pool waits at its end for a thread that may have no core: Live's map engine holds one. In the
 * browser bench (`npm run bench:browser`, one run each way, 2026-12-02, BENCHMARKS.md "Live"), one pool
 * thread against two: training 60 images 1.38 against 1.49 of the CLI's time, a score 0.71 against 0.74, a
 * score and map 0.83 against 0.85, and Live's verdicts with the heatmap on 0.90-0.94 of one over the score
 * latency in three runs, against 0.73-0.91 in five. Without the kernels (no SIMD) TF.js does all the work and
 * gets every core. The cost: a flow too large for the kernels (the paper's width, HOST_FLOW_MAX_PARAMS)
 * trains on TF.js, and then on this one thread.
 */
export function tfjsPoolThreads(cores: number, hostKernels: boolean): number {
  return hostKernels ? Math.min(1, cores) : cores;
}
