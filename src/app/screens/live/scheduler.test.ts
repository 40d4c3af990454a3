import { describe, expect, it } from 'vitest';
import { LiveScheduler, mapPeriod, nextJob, NOT_READY_MS, type Job, type LiveLane, type MapPolicy } from './scheduler';

const POLICY: MapPolicy = { verdictShare: 0.85, maxMapsPerSecond: 2 };

type Event = Job | 'warm' | 'wait';

interface FakeOptions {
  /** Milliseconds each job takes; a function of the virtual time lets a test change the machine's load. */
  cost: (job: Job, now: number) => number;
  heatmap: boolean;
  /** The fake clock's time at which the test stops the scheduler. */
  until: number;
  /** Frames arrive from this time on. */
  readyAt?: number;
  failMap?: (n: number) => boolean;
  failScore?: (n: number) => boolean;
  /** Called before each job with the scheduler, to act at a given time. */
  before?: (s: LiveScheduler, now: number) => void;
}

/**
 * A lane on a virtual clock: each job advances the clock by its cost, nothing waits for real time, and the
 * scheduler is stopped once the clock passes `until`.
 */
function fake(o: FakeOptions) {
  let now = 0;
  const events: { event: Event; at: number }[] = [];
  const errors: unknown[] = [];
  const mapErrors: unknown[] = [];
  let maps = 0;
  let scores = 0;
  // The lane needs the scheduler it drives (to stop it), which needs the lane.
  const ref: { scheduler?: LiveScheduler } = {};
  const tick = (ms: number) => {
    now += ms;
    if (now >= o.until) void ref.scheduler?.stop();
  };
  const lane: LiveLane = {
    now: () => now,
    sleep: async (ms) => {
      events.push({ event: 'wait', at: now });
      tick(ms);
    },
    ready: () => now >= (o.readyAt ?? 0),
    warm: async () => {
      events.push({ event: 'warm', at: now });
      tick(o.cost('score', now));
    },
    run: async (job, signal) => {
      if (ref.scheduler) o.before?.(ref.scheduler, now);
      events.push({ event: job, at: now });
      const n = job === 'map' ? maps++ : scores++;
      tick(o.cost(job, now));
      if (signal.aborted) throw new Error('cancelled');
      if (job === 'map' && o.failMap?.(n)) throw new Error('map failed');
      if (job === 'score' && o.failScore?.(n)) throw new Error('score failed');
    },
    onError: (e) => errors.push(e),
    onMapError: (e) => mapErrors.push(e),
  };
  const scheduler = new LiveScheduler(lane, { heatmap: o.heatmap, policy: POLICY });
  ref.scheduler = scheduler;
  return { scheduler, events, errors, mapErrors, done: scheduler.stop.bind(scheduler), jobs: () => events.filter((e) => e.event === 'map' || e.event === 'score') };
}

/** Runs until the fake clock passes `until`, and returns what the lane was asked to do. */
async function run(o: FakeOptions) {
  const f = fake(o);
  // The loop ends itself when the clock passes `until`; stop() then only awaits it.
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  await f.done();
  return f;
}

/**
 * Verdicts per second (scores and maps alike) as a share of what scores alone would give, in the steady
 * state: whole map periods, from the second map's start to the last's.
 */
function share(jobs: { event: Event; at: number }[], scoreMs: number): number {
  const maps = jobs.filter((j) => j.event === 'map');
  const from = maps[1].at;
  const to = maps[maps.length - 1].at;
  const verdicts = jobs.filter((j) => j.at >= from && j.at < to).length;
  return (verdicts / (to - from)) * scoreMs;
}

describe('the map period', () => {
  it('is the shortest that keeps the verdicts at their share, and never shorter than the map or the fastest rate', () => {
    // 1 - (250 - 100) / T = 0.85  =>  T = 1000 ms.
    expect(mapPeriod({ scoreMs: 100, mapMs: 250 }, POLICY)).toBeCloseTo(1000, 9);
    // A map barely dearer than a score: the rate cap decides.
    expect(mapPeriod({ scoreMs: 100, mapMs: 120 }, POLICY)).toBe(500);
    // A map cheaper than its own period by the formula (on a fast GPU, say): maps back to back at most.
    expect(mapPeriod({ scoreMs: 100, mapMs: 600 }, { verdictShare: 0, maxMapsPerSecond: 10 })).toBe(600);
    // Dearer maps are spaced further apart.
    expect(mapPeriod({ scoreMs: 100, mapMs: 400 }, POLICY)).toBeGreaterThan(mapPeriod({ scoreMs: 100, mapMs: 250 }, POLICY));
  });
});

describe('the next job', () => {
  const base = { heatmap: true, mapWanted: false, costs: { scoreMs: 100, mapMs: 250 }, lastMapAt: 0, now: 500 };
  it('is a score while the heatmap is off, whatever else holds', () => {
    expect(nextJob({ ...base, heatmap: false, mapWanted: true, lastMapAt: null }, POLICY)).toBe('score');
  });
  it('measures a score, then a map, before spacing maps by their period', () => {
    expect(nextJob({ ...base, costs: { scoreMs: null, mapMs: null }, lastMapAt: null }, POLICY)).toBe('score');
    expect(nextJob({ ...base, costs: { scoreMs: 100, mapMs: null }, lastMapAt: null }, POLICY)).toBe('map');
    expect(nextJob({ ...base, now: 999 }, POLICY)).toBe('score');
    expect(nextJob({ ...base, now: 1000 }, POLICY)).toBe('map');
  });
  it('is a map at once when one is wanted', () => {
    expect(nextJob({ ...base, mapWanted: true, now: 10 }, POLICY)).toBe('map');
  });
});

describe('the Live scheduler', () => {
  const cost = (scoreMs: number, mapMs: number) => (job: Job) => (job === 'map' ? mapMs : scoreMs);

  it('waits for the camera, warms up once, then only scores with the heatmap off', async () => {
    const f = await run({ cost: cost(100, 250), heatmap: false, until: 2000, readyAt: 250 });
    const kinds = f.events.map((e) => e.event);
    expect(kinds.slice(0, 4)).toEqual(['wait', 'wait', 'wait', 'warm']);
    expect(f.events[1].at - f.events[0].at).toBe(NOT_READY_MS);
    expect(kinds.slice(4).every((k) => k === 'score')).toBe(true);
    expect(kinds.filter((k) => k === 'warm')).toHaveLength(1);
  });

  it('makes a map a second while the verdicts keep their share, when a map costs 2.5 scores', async () => {
    const f = await run({ cost: cost(100, 250), heatmap: true, until: 20_000 });
    const jobs = f.jobs();
    const maps = jobs.filter((j) => j.event === 'map');
    expect(jobs[0].event).toBe('score');
    expect(jobs[1].event).toBe('map');
    const starts = maps.map((m) => m.at);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]);
    // Maps start on the first free moment after each period: never early, and late by less than a score.
    expect(gaps.every((g) => g >= 1000 && g < 1100)).toBe(true);
    expect(maps.length / 20).toBeGreaterThanOrEqual(0.95);
    expect(share(jobs, 100)).toBeGreaterThanOrEqual(0.85);
  });

  it('spaces dearer maps further apart, so the verdicts hold their share', async () => {
    const f = await run({ cost: cost(100, 400), heatmap: true, until: 20_000 });
    const jobs = f.jobs();
    const maps = jobs.filter((j) => j.event === 'map').length / 20;
    expect(maps).toBeLessThan(0.6);
    expect(maps).toBeGreaterThan(0.4);
    expect(share(jobs, 100)).toBeGreaterThanOrEqual(0.85);
  });

  it('follows a change of load: maps that grow dear are spaced out within a few maps', async () => {
    // From 10 s on, another program takes the cores: maps cost twice as much, scores as before.
    const f = await run({ cost: (job, now) => (job === 'score' ? 100 : now < 10_000 ? 250 : 500), heatmap: true, until: 30_000 });
    const maps = f.jobs().filter((j) => j.event === 'map');
    const late = maps.filter((m) => m.at >= 20_000);
    const gaps = late.slice(1).map((m, i) => m.at - late[i].at);
    // 1 - (500 - 100) / T = 0.85  =>  T = 2667 ms, once the smoothed cost has caught up.
    expect(gaps.every((g) => g >= 2500)).toBe(true);
    expect(maps.filter((m) => m.at < 10_000).length).toBeGreaterThanOrEqual(9);
  });

  it('makes a wanted map next, then goes back to its period', async () => {
    let asked = false;
    const f = await run({
      cost: cost(100, 250),
      heatmap: true,
      until: 3000,
      before: (s, now) => {
        if (!asked && now >= 1500) {
          asked = true;
          s.requestMap();
        }
      },
    });
    const jobs = f.jobs();
    const i = jobs.findIndex((j) => j.at >= 1500);
    // The job already chosen when the request came runs first; the one after it is the map.
    expect(jobs[i + 1].event).toBe('map');
  });

  it('keeps scoring when a map fails, reports it once, and tries maps again when the heatmap comes back', async () => {
    let toggled = false;
    const f = await run({
      cost: cost(100, 250),
      heatmap: true,
      until: 4000,
      failMap: (n) => n === 0,
      before: (s, now) => {
        if (!toggled && now >= 2000) {
          toggled = true;
          s.setHeatmap(false);
          s.setHeatmap(true);
        }
      },
    });
    expect(f.mapErrors).toHaveLength(1);
    expect(f.errors).toHaveLength(0);
    const maps = f.jobs().filter((j) => j.event === 'map');
    expect(maps[0].at).toBeLessThan(2000);
    // None between the failure and the heatmap's return.
    expect(maps[1].at).toBeGreaterThanOrEqual(2000);
  });

  it('stops on a failed score and reports it', async () => {
    const f = await run({ cost: cost(100, 250), heatmap: false, until: 10_000, failScore: (n) => n === 3 });
    expect(f.errors).toHaveLength(1);
    expect(f.jobs()).toHaveLength(4);
  });

  it('cancels the job in flight on stop, and reports nothing for it', async () => {
    const f = fake({ cost: cost(100, 250), heatmap: true, until: 1_000_000 });
    let signal: AbortSignal | null = null;
    let started = 0;
    // A lane whose job never ends by itself: stop() must end it through the signal.
    const lane: LiveLane = {
      now: () => 0,
      sleep: async () => {},
      ready: () => true,
      warm: async () => {},
      run: (_job, s) => {
        started++;
        signal = s;
        return new Promise((_, reject) => s.addEventListener('abort', () => reject(new Error('cancelled'))));
      },
      onError: () => f.errors.push('reported'),
      onMapError: () => f.mapErrors.push('reported'),
    };
    await f.done();
    const s = new LiveScheduler(lane, { heatmap: true, policy: POLICY });
    await new Promise((r) => setTimeout(r, 0));
    await s.stop();
    expect(started).toBe(1);
    expect(signal!.aborted).toBe(true);
    expect(f.errors).toHaveLength(0);
    expect(f.mapErrors).toHaveLength(0);
  });
});
