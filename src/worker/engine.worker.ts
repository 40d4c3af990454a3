/// <reference lib="webworker" />
// The engine worker: TF.js and every model live here so the page never freezes while they compute.
import { browserFlowThreads } from './flowThreads';
import type { ToWorker } from './protocol';
import { serveEngine } from './serve';

declare const self: DedicatedWorkerGlobalScope;

// The engine's own kernels (feature rows on TF.js's CPU backends, the flow's training) on every core, up to 8.
const receive = serveEngine((msg, transfer = []) => self.postMessage(msg, transfer), { threads: browserFlowThreads() });

self.addEventListener('message', (e: MessageEvent<ToWorker>) => receive(e.data));
