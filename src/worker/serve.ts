// The worker's side of the protocol, apart from the worker global: requests in, progress, results and
// errors out. The engine worker serves it over `self`; Node tests serve it over a MessageChannel.
import { EngineSession, type Reply, type SessionOptions } from './session';
import type { FromWorker, Request, SerializedError, ToWorker } from './protocol';

function serialize(e: unknown): SerializedError {
  if (e instanceof Error) return { name: e.name, message: e.message };
  if (e instanceof DOMException) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

/** Starts an engine session answering through `post`; the returned function takes each message sent to it. */
export function serveEngine(post: (msg: FromWorker, transfer?: Transferable[]) => void, opts: SessionOptions = {}): (msg: ToWorker) => void {
  const session = new EngineSession((e) => post({ kind: 'event', ...e }), opts);
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

  return (msg) => {
    if (msg.kind === 'cancel') running.get(msg.id)?.abort();
    else void handle(msg);
  };
}
