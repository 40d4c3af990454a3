/**
 * When Live scores a frame and when it makes a defect map: plain TypeScript, no React, so the decisions can
 * be tested on a fake clock and fake engines (scheduler.test.ts). The hook (useLiveLoop.ts) adapts it to
 * the camera, the engine workers and the stores.
 *
 * Two lanes, each on its own engine, one job in flight in each: frames are taken when a lane's engine is
 * free, never queued, so the rates follow the machine. The verdict lane scores every frame it can. The map
 * lane (a second engine on one thread) makes defect maps, and each map's score is a verdict too (the same
 * feature rows as `score()`). While a map runs it takes a core from the verdict engine: a score started
 * beside a map is told so (`JobContext`), and the adapter runs it on one thread, since the verdict engine's
 * two would split each kernel and wait at its end for a helper that has no core. The map lane rests
 * between maps as long as it takes to keep the verdicts at their share.
 */

export type Job = 'score' | 'map';

/** Wall time a job takes in its lane (frame taken, engine call, result recorded), smoothed. */
export interface Costs {
  /** A score while no map runs beside it. */
  scoreMs: number | null;
  /** A score while a map runs beside it. */
  scoreBesideMapMs: number | null;
  mapMs: number | null;
}

export interface MapPolicy {
  /** Verdicts per second with the heatmap on (maps' included), as a share of the rate without maps. */
  verdictShare: number;
  /** Fresher maps than this are not worth the verdicts they cost. */
  maxMapsPerSecond: number;
}

/**
 * The verdict ratio `npm run bench:browser -- --live-only` reports is verdicts/s times the engine's score
 * latency, and taking frames costs a lane a few percent beyond the engine's time, so the share here sits
 * above the 0.8 that ratio is held to (BENCHMARKS.md, Live rows).
 */
// At most 1.1 maps/s: on a quiet 2-core machine a map took 0.39 s, the rest above came out near zero and
// the cap of 2 maps/s was reached with verdicts at 0.60 of the heatmap-off rate (`npm run bench:browser --
// --live-only`, 2026-12-02 07:23 UTC, load 1.0). What the rest formula misses there is the page drawing each
// map and the map engine's thread taking a core from the verdict engine's two in the rest as well; a map
// costs about half its duration in verdicts, so about 1 map/s is what keeps the 0.8. Those runs scored
// beside a map on both of the verdict engine's threads; such scores now run on one (in Node on this
// machine, beside one thread making maps back to back: one thread scored 1.31-1.42x as many images per
// second as two with the other sessions idle, 1.07-1.42x under their load, and the maps went 1.02-1.24x
// faster). Measured again with that, a map waiting for the score in flight and TF.js's pool on one thread:
// at this cap, 1.02-1.11 maps/s with verdicts at 0.80-0.98 in eight quiet runs (BENCHMARKS.md, "Live"), so
// the cap stays; a higher one was not tried.
export const MAP_POLICY: MapPolicy = { verdictShare: 0.88, maxMapsPerSecond: 1.1 };

/**
 * Milliseconds the map lane rests after a map. Over one map (m) and its rest (r), the verdict lane scores
 * m / b frames beside the map (b: a score's cost beside one, on the one thread such scores get) and r / s in the rest (s: alone), and the map
 * is a verdict: (1 + m / b + r / s) verdicts where scores alone give (m + r) / s. Holding that share at
 * `verdictShare` (σ) gives r >= (m (σ - s / b) - s) / (1 - σ). Until a score beside a map has been
 * measured, the map is taken to stop the verdicts (b infinite), the cautious end.
 */
export function mapRest(costs: Costs, policy: MapPolicy = MAP_POLICY): number {
  const { scoreMs: s, scoreBesideMapMs: b, mapMs: m } = costs;
  if (s === null || m === null) return 0;
  const kept = b === null ? 0 : Math.min(1, s / b);
  const forShare = (m * (policy.verdictShare - kept) - s) / (1 - policy.verdictShare);
  return Math.max(0, forShare, 1000 / policy.maxMapsPerSecond - m);
}

/** A cost follows the machine's load within a few jobs without jumping at one slow frame. */
export function smoothCost(previous: number | null, measured: number): number {
  return previous === null ? measured : 0.7 * previous + 0.3 * measured;
}

/** What a job runs beside. */
export interface JobContext {
  /** A score started while the map lane makes a map (a map's own job: always false). */
  besideMap: boolean;
}

/** One engine as the scheduler sees it: the adapter owns frames, the engine call and where results go. */
export interface LiveLane {
  /** False while no frame can be taken (the camera has not delivered one yet). */
  ready(): boolean;
  /** Prepares the engine (model loaded, warm-up on a blank frame), so that is not charged to the first job. */
  warm(signal: AbortSignal): Promise<void>;
  /** Takes the newest frame, runs the job on it and records what it gave. */
  run(job: Job, signal: AbortSignal, context: JobContext): Promise<void>;
}

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or at once when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** How long to wait for the camera's first frame before looking again. */
export const NOT_READY_MS = 100;

export class LiveScheduler {
  private readonly ac = new AbortController();
  private readonly costs: Costs = { scoreMs: null, scoreBesideMapMs: null, mapMs: null };
  private readonly policy: MapPolicy;
  private readonly verdicts: Promise<void>;
  private maps: { ac: AbortController; done: Promise<void>; wake: AbortController | null } | null = null;
  /** Maps finished so far, so a score can tell whether one ran beside it. */
  private mapsDone = 0;
  private mapRunning = false;
  /** The map lane waits for the score in flight to end before it starts a map (see mapLoop). */
  private mapStarting = false;
  private scoring: Promise<void> | null = null;
  private mapWanted = false;

  constructor(
    private readonly clock: Clock,
    lane: LiveLane,
    private readonly onError: (e: unknown) => void,
    policy: MapPolicy = MAP_POLICY,
  ) {
    this.policy = policy;
    this.verdicts = this.verdictLoop(lane);
  }

  /**
   * Starts the map lane on its engine (the heatmap turned on). A failure stops only this lane: `onMapError`
   * gets it and the verdicts go on.
   */
  startMaps(lane: LiveLane, onMapError: (e: unknown) => void): void {
    if (this.maps || this.ac.signal.aborted) return;
    // Another engine, model or rotation count: its costs are measured afresh.
    this.costs.mapMs = null;
    this.costs.scoreBesideMapMs = null;
    const ac = new AbortController();
    const maps = { ac, done: Promise.resolve(), wake: null as AbortController | null };
    this.maps = maps;
    maps.done = this.mapLoop(lane, maps, onMapError);
  }

  /** Stops the map lane and cancels its map in flight; resolves once it has ended. */
  async stopMaps(): Promise<void> {
    const maps = this.maps;
    if (!maps) return;
    this.maps = null;
    this.mapWanted = false;
    maps.ac.abort();
    await maps.done;
  }

  /** The next map as soon as the map lane is free, its rest cut short (a defect waits for its heatmap). */
  requestMap(): void {
    if (!this.maps) return;
    this.mapWanted = true;
    this.maps.wake?.abort();
  }

  /** What the lanes have measured, for display and tests. */
  measured(): Readonly<Costs> {
    return { ...this.costs };
  }

  /** Stops both lanes and cancels their jobs in flight; resolves when both have ended. */
  async stop(): Promise<void> {
    this.ac.abort();
    await this.stopMaps();
    await this.verdicts;
  }

  private async waitReady(lane: LiveLane, signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !lane.ready()) await this.clock.sleep(NOT_READY_MS, signal);
  }

  private async verdictLoop(lane: LiveLane): Promise<void> {
    const { signal } = this.ac;
    try {
      await this.waitReady(lane, signal);
      if (signal.aborted) return;
      await lane.warm(signal);
      while (!signal.aborted) {
        await this.waitReady(lane, signal);
        if (signal.aborted) return;
        const t0 = this.clock.now();
        const mapsBefore = this.mapsDone;
        // A map about to start counts: it starts as soon as this score is under way.
        const besideMap = this.mapRunning || this.mapStarting;
        const job = lane.run('score', signal, { besideMap });
        this.scoring = job;
        try {
          await job;
        } finally {
          this.scoring = null;
        }
        const ms = this.clock.now() - t0;
        // A score that overlapped no map at all is the baseline; one that overlapped a map throughout, the
        // cost beside one. Scores partly beside a map are neither.
        if (!besideMap && !this.mapRunning && this.mapsDone === mapsBefore) this.costs.scoreMs = smoothCost(this.costs.scoreMs, ms);
        else if (besideMap && this.mapRunning && this.mapsDone === mapsBefore) this.costs.scoreBesideMapMs = smoothCost(this.costs.scoreBesideMapMs, ms);
      }
    } catch (e) {
      if (!signal.aborted) {
        this.ac.abort();
        this.onError(e);
      }
    }
  }

  private async mapLoop(lane: LiveLane, maps: { ac: AbortController; wake: AbortController | null }, onMapError: (e: unknown) => void): Promise<void> {
    const signal = AbortSignal.any([this.ac.signal, maps.ac.signal]);
    try {
      await this.waitReady(lane, signal);
      if (signal.aborted) return;
      await lane.warm(signal);
      // A baseline score first, so the first rest knows what a map costs the verdicts.
      while (!signal.aborted && this.costs.scoreMs === null) await this.clock.sleep(NOT_READY_MS, signal);
      while (!signal.aborted) {
        await this.waitReady(lane, signal);
        if (signal.aborted) return;
        this.mapWanted = false;
        // No score on the verdict engine's two threads may overlap a map: beside the map's thread they
        // stall on each other's barriers, and on one thread a score beside a map keeps nearly its pace
        // (README, the helper threads' paragraph). So the map waits for the score in flight (a score's length at most), and the
        // verdict lane's next score, which starts now, is told a map runs beside it.
        this.mapStarting = true;
        try {
          await this.scoring?.catch(() => undefined);
        } finally {
          this.mapStarting = false;
        }
        if (signal.aborted) return;
        const t0 = this.clock.now();
        this.mapRunning = true;
        try {
          await lane.run('map', signal, { besideMap: false });
        } finally {
          this.mapRunning = false;
          this.mapsDone++;
        }
        this.costs.mapMs = smoothCost(this.costs.mapMs, this.clock.now() - t0);
        if (this.mapWanted) continue;
        maps.wake = new AbortController();
        await this.clock.sleep(mapRest(this.costs, this.policy), AbortSignal.any([signal, maps.wake.signal]));
        maps.wake = null;
      }
    } catch (e) {
      if (!signal.aborted) onMapError(e);
    }
  }
}
