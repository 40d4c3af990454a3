/// <reference lib="webworker" />
// The engine worker: TF.js and every model live here so the page never freezes while they compute.
import { useHostForward } from '../core/features/hostForward';
import { browserFlowThreads } from './flowThreads';
import { EngineSession, type Reply } from './session';
import type { EngineEvent, FromWorker, Request, SerializedError, ToWorker } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

function post(msg: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

function serialize(e: unknown): SerializedError {
  if (e instanceof Error) return { name: e.name, message: e.message };
  if (e instanceof DOMException) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

// Feature rows on the engine's own kernels, every core (up to 8) on each image (on TF.js's CPU backends only).
useHostForward(browserFlowThreads() ?? { helpers: 0 });

const session = new EngineSession((e: EngineEvent) => post({ kind: 'event', ...e }));
const running = new Map<number, AbortController>();

async function handle(msg: Request): Promise<void> {
  const controller = new AbortController();
  running.set(msg.id, controller);
  try {
    const handler = session.handlers[msg.type] as (args: unknown, ctx: Parameters<(typeof session.handlers)['init']>[1]) => Promise<Reply<unknown>>;
    const reply = await handler(msg.args, {
      signal: controller.signal,
      progress: (progress) => post({ kind: 'progress', id: msg.id, progress }),
    });
    post({ kind: 'result', id: msg.id, result: reply.result }, reply.transfer ?? []);
  } catch (e) {
    const error = serialize(e);
    // Only a request its caller cancelled reads as cancelled: an AbortError nobody asked for (a GPU buffer
    // mapping aborted under a lost device, say) is a failure, and must not be taken for a cancellation.
    if (error.name === 'AbortError' && !controller.signal.aborted) error.name = 'Error';
    post({ kind: 'error', id: msg.id, error });
  } finally {
    running.delete(msg.id);
  }
}

self.addEventListener('message', (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.kind === 'cancel') running.get(msg.id)?.abort();
  else void handle(msg);
});
