/// <reference lib="webworker" />
// The engine worker: TF.js and every model live here so the page never freezes while they compute.
import { useHostForward } from '../core/features/hostForward';
import { browserFlowThreads } from './flowThreads';
import type { ToWorker } from './protocol';
import { serveEngine } from './serve';

declare const self: DedicatedWorkerGlobalScope;

// Feature rows on the engine's own kernels, every core (up to 8) on each image (on TF.js's CPU backends only).
useHostForward(browserFlowThreads() ?? { helpers: 0 });

const receive = serveEngine((msg, transfer = []) => self.postMessage(msg, transfer));

self.addEventListener('message', (e: MessageEvent<ToWorker>) => receive(e.data));
