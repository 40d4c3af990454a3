import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { calibrationAt, FakeEngineClient, imageFile, installLocalStorage, modelRecord, untilAborted } from '../../../test/support/appStores';

const fake = vi.hoisted(() => ({ engine: null as unknown as FakeEngineClient }));
vi.mock('../engine', () => ({ engine: () => fake.engine, wasmPaths: () => '' }));
installLocalStorage();

const { sameJudge, useInspect } = await import('./inspect');
const { useModels } = await import('./models');

const record = modelRecord();

function activate(r = record): void {
  useModels.setState({ records: [r], activeId: r.id, loaded: { [r.id]: true } });
}

/** Scores by file name (`part-3.png` scores 3), so tests can tell rows apart. */
function scoring(engine: FakeEngineClient): FakeEngineClient {
  return engine.answer('analyze', async (args) => {
    const name = (args.image as File).name;
    return { score: Number(/(\d+)/.exec(name)![1]), map: new Float32Array(4), mapWidth: 2, mapHeight: 2, width: 8, height: 8, ms: 1 };
  });
}

async function settled(): Promise<void> {
  await vi.waitFor(() => expect(useInspect.getState().running).toBe(false));
}

beforeEach(() => {
  fake.engine = scoring(new FakeEngineClient());
  useInspect.setState({ items: [], running: false, abort: null, selectedId: null });
  activate();
});

describe('sameJudge', () => {
  const judged = { modelId: record.id, name: record.name, version: record.version, calibration: record.calibration };

  it('holds for the same model, version and threshold only', () => {
    expect(sameJudge(judged, record)).toBe(true);
    expect(sameJudge(undefined, record)).toBe(false);
    expect(sameJudge(judged, { ...record, id: 'other' })).toBe(false);
    expect(sameJudge(judged, { ...record, version: 2 })).toBe(false);
    expect(sameJudge(judged, { ...record, calibration: calibrationAt(11) })).toBe(false);
    // A threshold set anew at the same value gives the same verdicts.
    expect(sameJudge(judged, { ...record, calibration: calibrationAt(10, { kind: 'manual', threshold: 10 }) })).toBe(true);
    expect(sameJudge({ ...judged, calibration: null }, { ...record, calibration: null })).toBe(true);
  });
});

describe('inspect store', () => {
  it('scores what is added, one image at a time, and records who judged each', async () => {
    useInspect.getState().add([{ file: imageFile('part-3.png'), path: 'part-3.png' }, { file: imageFile('part-7.png'), path: 'part-7.png' }, { file: new File(['x'], 'notes.txt'), path: 'notes.txt' }]);
    await settled();
    const items = useInspect.getState().items;
    expect(items.map((i) => [i.status, i.score])).toEqual([
      ['done', 3],
      ['done', 7],
      ['error', undefined],
    ]);
    expect(items[2].error).toBe('not an image file');
    expect(items[0].judgedBy).toEqual({ modelId: record.id, name: record.name, version: 1, calibration: record.calibration });
    expect(fake.engine.callsOf('analyze')).toHaveLength(2);
    expect(useInspect.getState().abort).toBeNull();
  });

  it('rescore re-queues only rows another version or threshold judged', async () => {
    useInspect.getState().add([{ file: imageFile('part-1.png'), path: 'a' }, { file: imageFile('part-2.png'), path: 'b' }]);
    await settled();
    // Row b was judged by version 1 at threshold 10; the model is now version 2.
    const v2 = { ...record, version: 2 };
    useInspect.setState((s) => ({ items: s.items.map((i) => (i.name === 'a' ? { ...i, judgedBy: { ...i.judgedBy!, version: 2 } } : i)) }));
    activate(v2);
    fake.engine.calls.length = 0;
    useInspect.getState().rescore();
    await settled();
    expect(fake.engine.callsOf('analyze')).toHaveLength(1);
    expect(useInspect.getState().items.every((i) => i.status === 'done' && i.judgedBy?.version === 2)).toBe(true);
  });

  it('cancel stops the batch, puts the interrupted row back in the queue, and clears the controller', async () => {
    fake.engine.answer('analyze', (_args, opts) => untilAborted(opts.signal));
    useInspect.getState().add([{ file: imageFile('part-1.png'), path: 'a' }, { file: imageFile('part-2.png'), path: 'b' }]);
    await vi.waitFor(() => expect(useInspect.getState().items[0].status).toBe('running'));
    expect(useInspect.getState().abort).toBeInstanceOf(AbortController);
    useInspect.getState().cancel();
    await settled();
    expect(useInspect.getState().items.map((i) => i.status)).toEqual(['queued', 'queued']);
    expect(useInspect.getState().abort).toBeNull();
  });

  it('a model switch ends the run; the rest waits for the new model', async () => {
    let release: () => void = () => undefined;
    fake.engine.answer('analyze', () => new Promise((resolve) => (release = () => resolve({ score: 1, mapWidth: 0, mapHeight: 0, width: 1, height: 1, ms: 1 }))));
    useInspect.getState().add([{ file: imageFile('part-1.png'), path: 'a' }, { file: imageFile('part-2.png'), path: 'b' }]);
    await vi.waitFor(() => expect(useInspect.getState().items[0].status).toBe('running'));
    useModels.setState({ activeId: 'another' });
    release();
    await settled();
    expect(useInspect.getState().items.map((i) => i.status)).toEqual(['done', 'queued']);
  });

  it('Clear can be undone: the rows come back before those added since, and are stored again', async () => {
    useInspect.getState().add([{ file: imageFile('part-1.png'), path: 'a' }, { file: imageFile('part-2.png'), path: 'b' }]);
    await settled();
    useInspect.getState().clear();
    expect(useInspect.getState().items).toEqual([]);
    useInspect.getState().add([{ file: imageFile('part-5.png'), path: 'c' }]);
    await settled();
    useInspect.getState().undoClear();
    await settled();
    const items = useInspect.getState().items;
    expect(items.map((i) => [i.name, i.order, i.status])).toEqual([
      ['a', 0, 'done'],
      ['b', 1, 'done'],
      ['c', 2, 'done'],
    ]);
    expect(useInspect.getState().cleared).toBeNull();
    // Undo twice does nothing more.
    useInspect.getState().undoClear();
    expect(useInspect.getState().items).toHaveLength(3);
  });
});
