import { describe, expect, it } from 'vitest';
import { LiveScheduler, mapRest, NOT_READY_MS, type Clock, type Costs, type Job, type LiveLane, type MapPolicy } from './scheduler';

const POLICY: MapPolicy = { verdictShare: 0.88, maxMapsPerSecond: 2 };

/**
 * A virtual clock: sleeps resolve in time order and nothing waits for real time. `runUntil` moves time on
 * from one timer to the next, letting the lanes react (a real macrotask) before the next.
 */
class FakeClock implements Clock {
  t = 0;
  private timers: { at: number; resolve: () => void }[] = [];
  now = () => this.t;
  sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const timer = { at: this.t + ms, resolve };
      this.timers.push(timer);
      signal.addEventListener('abort', () => {
        this.timers = this.timers.filter((x) => x !== timer);
        resolve();
      });
    });
  async runUntil(end: number): Promise<void> {
    for (;;) {
      await new Promise((r) => setTimeout(r, 0));
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) return;
      this.timers.shift();
      this.t = next.at;
      next.resolve();
    }
  }
}

type Event = { lane: 'verdicts' | 'maps'; event: Job | 'warm'; at: number; end?: number; besideMap?: boolean };

interface World {
  clock: FakeClock;
  events: Event[];
  /** Whether a map is being made now, so a score's cost can depend on it. */
  mapping: () => boolean;
}

/** A lane whose jobs take `cost` ms of virtual time; it can be told to fail its n-th job. */
function fakeLane(w: World, name: Event['lane'], cost: (job: Job | 'warm', w: World, besideMap: boolean) => number, opts: { readyAt?: number; fail?: (n: number) => boolean } = {}): LiveLane {
  let n = 0;
  return {
    ready: () => w.clock.t >= (opts.readyAt ?? 0),
    warm: async (signal) => {
      const e: Event = { lane: name, event: 'warm', at: w.clock.t };
      w.events.push(e);
      await w.clock.sleep(cost('warm', w, false), signal);
      e.end = w.clock.t;
    },
    run: async (job, signal, { besideMap }) => {
      const e: Event = { lane: name, event: job, at: w.clock.t, besideMap };
      w.events.push(e);
      const failing = opts.fail?.(n++);
      await w.clock.sleep(cost(job, w, besideMap), signal);
      if (signal.aborted) throw new Error('cancelled');
      e.end = w.clock.t;
      if (failing) throw new Error(`${job} failed`);
    },
  };
}

function world(): World {
  const w: World = {
    clock: new FakeClock(),
    events: [],
    mapping: () => w.events.some((e) => e.event === 'map' && e.end === undefined && e.at <= w.clock.t),
  };
  return w;
}

/**
 * Scores cost `score` ms alone and `beside` ms when told a map runs beside them (the engine then scores on one
 * thread); maps `map` ms; warming a score's time.
 */
const costs = (score: number, beside: number, map: number) => (job: Job | 'warm', _w: World, besideMap: boolean) => (job === 'map' ? map : besideMap ? beside : score);

/** Verdicts (scores and maps, both lanes) per `scoreMs`, over [from, to): the share of scores alone. */
function share(w: World, from: number, to: number, scoreMs: number): number {
  const done = w.events.filter((e) => e.event !== 'warm' && e.end !== undefined && e.end >= from && e.end < to);
  return (done.length / (to - from)) * scoreMs;
}

const jobs = (w: World, job: Job) => w.events.filter((e) => e.event === job && e.end !== undefined);

describe('the map lane\'s rest', () => {
  const c = (scoreMs: number | null, scoreBesideMapMs: number | null, mapMs: number | null): Costs => ({ scoreMs, scoreBesideMapMs, mapMs });
  it('keeps the verdicts at their share: longer the more a map slows the scores beside it', () => {
    // Scores at half speed beside a map: r = (500 (0.88 - 0.5) - 100) / 0.12 = 750 ms.
    expect(mapRest(c(100, 200, 500), POLICY)).toBeCloseTo(750, 9);
    expect(mapRest(c(100, 400, 500), POLICY)).toBeGreaterThan(mapRest(c(100, 200, 500), POLICY));
    expect(mapRest(c(100, 200, 800), POLICY)).toBeGreaterThan(mapRest(c(100, 200, 500), POLICY));
  });
  it('is only the fastest rate\'s when maps barely slow the scores, and none before anything is measured', () => {
    expect(mapRest(c(100, 110, 300), POLICY)).toBe(200);
    expect(mapRest(c(100, 110, 800), POLICY)).toBe(0);
    expect(mapRest(c(null, null, 500), POLICY)).toBe(0);
  });
  it('takes a map to stop the verdicts until a score beside one has been measured', () => {
    expect(mapRest(c(100, null, 500), POLICY)).toBeCloseTo((500 * 0.88 - 100) / 0.12, 9);
  });
});

describe('the Live scheduler', () => {
  it('waits for the camera, warms up once, then scores back to back while the heatmap is off', async () => {
    const w = world();
    const errors: unknown[] = [];
    const s = new LiveScheduler(w.clock, fakeLane(w, 'verdicts', costs(100, 100, 500), { readyAt: 250 }), (e) => errors.push(e), POLICY);
    await w.clock.runUntil(2000);
    await s.stop();
    expect(w.events[0]).toMatchObject({ event: 'warm', at: 300 });
    expect(w.events.filter((e) => e.event === 'warm')).toHaveLength(1);
    const scores = jobs(w, 'score');
    // 300 ms waiting (three looks, NOT_READY_MS apart), 100 ms warming, then one score per 100 ms.
    expect(NOT_READY_MS).toBe(100);
    expect(scores.map((e) => e.at).slice(0, 3)).toEqual([400, 500, 600]);
    expect(jobs(w, 'map')).toHaveLength(0);
    expect(errors).toEqual([]);
  });

  it('rests the map lane so that the verdicts, maps\' included, keep their share', async () => {
    const w = world();
    const s = new LiveScheduler(w.clock, fakeLane(w, 'verdicts', costs(100, 200, 530)), () => {}, POLICY);
    s.startMaps(fakeLane(w, 'maps', costs(100, 200, 530)), () => {});
    await w.clock.runUntil(30_000);
    await s.stop();
    const m = s.measured();
    expect(m.scoreMs).toBeCloseTo(100, 6);
    expect(m.scoreBesideMapMs).toBeCloseTo(200, 6);
    expect(m.mapMs).toBeCloseTo(530, 6);
    const maps = jobs(w, 'map').filter((e) => e.at >= 5000);
    const gaps = maps.slice(1).map((e, i) => e.at - maps[i].at);
    // A map (530 ms) and its rest, (530 (0.88 - 0.5) - 100) / 0.12 = 845 ms, then the wait for the score in
    // flight to end (at most one score alone, 100 ms): 0.68-0.73 maps/s.
    expect(gaps.every((g) => g >= 1375 - 1e-6 && g <= 1475 + 1e-6)).toBe(true);
    // 0.88 by the formula; this fake charges a score's cost whole by the flag it started with, so the score
    // straddling a map's end costs more than a real one would.
    expect(share(w, 5000, 30_000, 100)).toBeGreaterThanOrEqual(0.85);
  });

  it('tells a score that starts while a map runs that it runs beside one, and no other job', async () => {
    const w = world();
    const s = new LiveScheduler(w.clock, fakeLane(w, 'verdicts', costs(70, 110, 530)), () => {}, POLICY);
    await w.clock.runUntil(1000);
    // Heatmap off: no score runs beside a map.
    expect(jobs(w, 'score').every((e) => e.besideMap === false)).toBe(true);
    s.startMaps(fakeLane(w, 'maps', costs(70, 110, 530)), () => {});
    await w.clock.runUntil(10_000);
    await s.stop();
    const maps = jobs(w, 'map');
    expect(maps.length).toBeGreaterThan(3);
    expect(maps.every((e) => e.besideMap === false)).toBe(true);
    // A score that starts at the very moment a map starts or ends may see either: those are left out.
    const inside = (t: number) => maps.some((m) => m.at < t && t < m.end!);
    const outside = (t: number) => maps.every((m) => t < m.at || t > m.end!);
    const scores = jobs(w, 'score');
    const beside = scores.filter((e) => inside(e.at));
    const alone = scores.filter((e) => outside(e.at));
    expect(beside.length).toBeGreaterThan(5);
    expect(alone.length).toBeGreaterThan(5);
    expect(beside.map((e) => e.besideMap)).toEqual(beside.map(() => true));
    expect(alone.map((e) => e.besideMap)).toEqual(alone.map(() => false));
    // No score on two threads overlaps a map: a map waits for the score in flight to end.
    const overlaps = (e: Event) => maps.some((m) => e.at < m.end! && m.at < e.end!);
    expect(scores.filter((e) => !e.besideMap && overlaps(e))).toEqual([]);
  });

  it('makes maps back to back (up to the fastest rate) when they barely slow the verdicts', async () => {
    const w = world();
    const s = new LiveScheduler(w.clock, fakeLane(w, 'verdicts', costs(100, 110, 300)), () => {}, POLICY);
    s.startMaps(fakeLane(w, 'maps', costs(100, 110, 300)), () => {});
    await w.clock.runUntil(20_000);
    await s.stop();
    const maps = jobs(w, 'map').filter((e) => e.at >= 5000 && e.at < 20_000);
    // Each map also waits for the score in flight (at most 100 ms): 1.8-2 maps/s.
    expect(maps.length / 15).toBeGreaterThanOrEqual(1.75);
    expect(maps.length / 15).toBeLessThanOrEqual(2);
  });

  it('cuts the rest short when a map is wanted', async () => {
    const w = world();
    const s = new LiveScheduler(w.clock, fakeLane(w, 'verdicts', costs(100, 200, 500)), () => {}, POLICY);
    s.startMaps(fakeLane(w, 'maps', costs(100, 200, 500)), () => {});
    await w.clock.runUntil(10_000);
    const last = jobs(w, 'map').at(-1)!;
    // In the middle of a rest (maps end at most 750 ms before the next starts).
    expect(w.mapping()).toBe(false);
    s.requestMap();
    const asked = w.clock.t;
    await w.clock.runUntil(asked + 101);
    await s.stop();
    const next = w.events.find((e) => e.event === 'map' && e.at > last.at)!;
    // At once, but for the score in flight (one alone: at most 100 ms).
    expect(next.at).toBeGreaterThanOrEqual(asked);
    expect(next.at).toBeLessThanOrEqual(asked + 100);
  });

  it('keeps the verdicts when a map fails, reports it, and maps again once restarted', async () => {
    const w = world();
    const mapErrors: unknown[] = [];
    const errors: unknown[] = [];
    const s = new LiveScheduler(w.clock, fakeLane(w, 'verdicts', costs(100, 200, 500)), (e) => errors.push(e), POLICY);
    s.startMaps(fakeLane(w, 'maps', costs(100, 200, 500), { fail: (n) => n === 0 }), (e) => mapErrors.push(e));
    await w.clock.runUntil(3000);
    expect(mapErrors).toHaveLength(1);
    // The failed map, and none after it.
    expect(jobs(w, 'map')).toHaveLength(1);
    const scoresBefore = jobs(w, 'score').length;
    await s.stopMaps();
    s.startMaps(fakeLane(w, 'maps', costs(100, 200, 500)), (e) => mapErrors.push(e));
    await w.clock.runUntil(6000);
    await s.stop();
    expect(jobs(w, 'map').length).toBeGreaterThan(1);
    expect(jobs(w, 'score').length).toBeGreaterThan(scoresBefore + 20);
    expect(errors).toEqual([]);
    expect(mapErrors).toHaveLength(1);
  });

  it('stops both lanes on a failed score and reports it once', async () => {
    const w = world();
    const errors: unknown[] = [];
    const s = new LiveScheduler(w.clock, fakeLane(w, 'verdicts', costs(100, 200, 500), { fail: (n) => n === 30 }), (e) => errors.push(e), POLICY);
    s.startMaps(fakeLane(w, 'maps', costs(100, 200, 500)), () => {});
    await w.clock.runUntil(20_000);
    expect(errors).toHaveLength(1);
    expect(w.events.filter((e) => e.lane === 'verdicts' && e.event === 'score')).toHaveLength(31);
    const lastMap = w.events.filter((e) => e.event === 'map').at(-1)!;
    const failedAt = w.events.filter((e) => e.event === 'score')[30].end ?? w.clock.t;
    expect(lastMap.at).toBeLessThanOrEqual(failedAt);
    await s.stop();
  });

  it('cancels the jobs in flight on stop, and reports nothing for them', async () => {
    const w = world();
    const errors: unknown[] = [];
    const mapErrors: unknown[] = [];
    const s = new LiveScheduler(w.clock, fakeLane(w, 'verdicts', costs(100, 200, 5000)), (e) => errors.push(e), POLICY);
    s.startMaps(fakeLane(w, 'maps', costs(100, 200, 5000)), (e) => mapErrors.push(e));
    await w.clock.runUntil(1000);
    expect(w.mapping()).toBe(true);
    await s.stop();
    const open = w.events.filter((e) => e.event !== 'warm' && e.end === undefined);
    // One score and one map were running; neither finished, no lane took another job.
    expect(open.map((e) => e.event).sort()).toEqual(['map', 'score']);
    await w.clock.runUntil(100_000);
    expect(w.events.filter((e) => e.at > 1000)).toHaveLength(0);
    expect(errors).toEqual([]);
    expect(mapErrors).toEqual([]);
  });
});
