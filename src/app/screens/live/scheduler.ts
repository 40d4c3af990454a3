/**
 * When Live scores a frame and when it makes a defect map: plain TypeScript, no React, so the decisions can
 * be tested on a fake clock and a fake engine (scheduler.test.ts). The hook (useLiveLoop.ts) adapts it to
 * the camera, the engine worker and the stores.
 *
 * One engine runs both kinds of job, one at a time, on every thread it has: a map is one forward and one
 * backward pass and yields the frame's score too (the same feature rows as `score()`), so it counts as a
 * verdict. Frames are taken when the engine is free, never queued, so the rate follows the machine.
 */

export type Job = 'score' | 'map';

/** Wall time a job takes in the lane (frame taken, engine call, result recorded), smoothed. */
export interface Costs {
  scoreMs: number | null;
  mapMs: number | null;
}

export interface MapPolicy {
  /** Verdicts per second with the heatmap on, as a share of the rate the lane scores at without it. */
  verdictShare: number;
  /** Fresher maps than this are not worth the verdicts they cost. */
  maxMapsPerSecond: number;
}

/**
 * Chosen with `npm run bench:browser -- --live-only` (BENCHMARKS.md, Live rows): the benchmark's verdict
 * ratio is verdicts/s times the engine's score latency, and taking frames costs the lane a few percent
 * more than the engine's time, so the share here sits above the 0.8 the ratio is held to.
 */
export const MAP_POLICY: MapPolicy = { verdictShare: 0.85, maxMapsPerSecond: 2 };

/**
 * Milliseconds from one map's start to the next's. Over a period T holding one map, the lane gives
 * 1 + (T - map) / score verdicts where it would give T / score without maps: a share of
 * 1 - (map - score) / T. The period is the shortest that keeps that share, no shorter than the map itself
 * (maps back to back) or than the policy's fastest rate.
 */
export function mapPeriod(costs: { scoreMs: number; mapMs: number }, policy: MapPolicy = MAP_POLICY): number {
  const forShare = (costs.mapMs - costs.scoreMs) / (1 - policy.verdictShare);
  return Math.max(costs.mapMs, forShare, 1000 / policy.maxMapsPerSecond);
}

export interface LaneState {
  heatmap: boolean;
  /** A map is wanted as soon as possible (a defect waits for its heatmap to be saved with it). */
  mapWanted: boolean;
  costs: Costs;
  /** When the last map started; null before the first. */
  lastMapAt: number | null;
  now: number;
}

/** The job for the engine's next free moment. */
export function nextJob(s: LaneState, policy: MapPolicy = MAP_POLICY): Job {
  if (!s.heatmap) return 'score';
  if (s.mapWanted) return 'map';
  // Measure a score before the first map, so the period has both costs.
  if (s.costs.scoreMs === null) return 'score';
  if (s.costs.mapMs === null || s.lastMapAt === null) return 'map';
  return s.now - s.lastMapAt >= mapPeriod({ scoreMs: s.costs.scoreMs, mapMs: s.costs.mapMs }, policy) ? 'map' : 'score';
}

/** A cost follows the machine's load within a few jobs without jumping at one slow frame. */
export function smoothCost(previous: number | null, measured: number): number {
  return previous === null ? measured : 0.7 * previous + 0.3 * measured;
}

/** What the scheduler drives: the adapter owns frames, the engine and where results go. */
export interface LiveLane {
  now(): number;
  /** Resolves after `ms`, or at once when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** False while no frame can be taken (the camera has not delivered one yet). */
  ready(): boolean;
  /** Runs the engine once on a blank frame, so warm-up is not charged to the first verdict. */
  warm(signal: AbortSignal): Promise<void>;
  /** Takes the newest frame, runs the job on it and records what it gave. */
  run(job: Job, signal: AbortSignal): Promise<void>;
  /** A failed score stops the lane. */
  onError(e: unknown): void;
  /** A failed map turns maps off for this run; verdicts go on. */
  onMapError(e: unknown): void;
}

/** How long to wait for the camera's first frame before looking again. */
export const NOT_READY_MS = 100;

export class LiveScheduler {
  private readonly ac = new AbortController();
  private heatmap: boolean;
  private mapWanted = false;
  private mapsFailed = false;
  private costs: Costs = { scoreMs: null, mapMs: null };
  private lastMapAt: number | null = null;
  private readonly policy: MapPolicy;
  private readonly done: Promise<void>;

  constructor(
    private readonly lane: LiveLane,
    opts: { heatmap: boolean; policy?: MapPolicy },
  ) {
    this.heatmap = opts.heatmap;
    this.policy = opts.policy ?? MAP_POLICY;
    this.done = this.loop();
  }

  /** Turning the heatmap on or off keeps the verdicts running; on again, maps get another chance. */
  setHeatmap(on: boolean): void {
    if (on && !this.heatmap) {
      this.mapsFailed = false;
      this.lastMapAt = null;
    }
    this.heatmap = on;
    if (!on) this.mapWanted = false;
  }

  /** The next job is a map (when the heatmap is on and maps work). */
  requestMap(): void {
    if (this.heatmap && !this.mapsFailed) this.mapWanted = true;
  }

  /** What the lane has measured, for display and tests. */
  measured(): Readonly<Costs> {
    return { ...this.costs };
  }

  /** Stops taking frames and cancels the job in flight; resolves when the loop has ended. */
  stop(): Promise<void> {
    this.ac.abort();
    return this.done;
  }

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  private async loop(): Promise<void> {
    const { signal } = this.ac;
    const { lane } = this;
    try {
      let warm = false;
      while (!signal.aborted) {
        if (!lane.ready()) {
          await lane.sleep(NOT_READY_MS, signal);
          continue;
        }
        if (!warm) {
          await lane.warm(signal);
          warm = true;
          continue;
        }
        const now = lane.now();
        const job = nextJob({ heatmap: this.heatmap && !this.mapsFailed, mapWanted: this.mapWanted, costs: this.costs, lastMapAt: this.lastMapAt, now }, this.policy);
        if (job === 'map') {
          this.mapWanted = false;
          this.lastMapAt = now;
          try {
            await lane.run('map', signal);
          } catch (e) {
            if (signal.aborted) return;
            this.mapsFailed = true;
            lane.onMapError(e);
            continue;
          }
          this.costs.mapMs = smoothCost(this.costs.mapMs, lane.now() - now);
        } else {
          await lane.run('score', signal);
          this.costs.scoreMs = smoothCost(this.costs.scoreMs, lane.now() - now);
        }
      }
    } catch (e) {
      if (!signal.aborted) lane.onError(e);
    }
  }
}
