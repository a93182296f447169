// A wall-clock budget for a run (e.g. a 9-hour hosted session): from the measured step times it tells the
// trainer when to checkpoint and stop so the last checkpoint lands before the budget ends.
import { parseDuration } from "./duration.js";

export interface BudgetOptions {
  /** The budget: seconds or a duration string ("8h30m"); null or undefined: no budget. */
  budget?: number | string | null;
  /** Keep this much time free at the end for the final checkpoint and export. Default 120 s. */
  marginSeconds?: number;
  /** Periodic checkpoints every N steps (0 or undefined: only budget-driven ones). */
  checkpointEvery?: number;
  /** Milliseconds clock; the budget starts when the object is made. */
  now?: () => number;
}

export class WallClockBudget {
  /** Epoch milliseconds when the budget ends (Infinity without a budget). */
  readonly deadline: number;
  readonly marginSeconds: number;
  private readonly checkpointEvery: number;
  private readonly now: () => number;
  private lastMark: number;
  private lastStepSeconds = 0;
  private averageStepSeconds = 0;
  private steps = 0;

  constructor(options: BudgetOptions = {}) {
    this.now = options.now ?? Date.now;
    this.lastMark = this.now();
    const budget = options.budget;
    this.deadline = budget === null || budget === undefined ? Number.POSITIVE_INFINITY : this.lastMark + parseDuration(budget) * 1000;
    this.marginSeconds = options.marginSeconds ?? 120;
    this.checkpointEvery = options.checkpointEvery ?? 0;
    if (!(this.marginSeconds >= 0)) throw new RangeError(`marginSeconds must be >= 0, got ${this.marginSeconds}`);
    if (!Number.isInteger(this.checkpointEvery) || this.checkpointEvery < 0) throw new RangeError(`checkpointEvery must be a non-negative integer, got ${this.checkpointEvery}`);
  }

  /** Marks the end of a step; its duration is the time since the previous mark (or since the start). */
  stepDone(): void {
    const now = this.now();
    const seconds = (now - this.lastMark) / 1000;
    this.lastMark = now;
    this.steps++;
    this.lastStepSeconds = seconds;
    // An exponential average smooths noise; the estimate below also takes the last step, so a slow phase (an
    // evaluation, longer completions) is not underestimated.
    this.averageStepSeconds = this.steps === 1 ? seconds : 0.8 * this.averageStepSeconds + 0.2 * seconds;
  }

  /** The expected duration of the next step. */
  estimatedStepSeconds(): number {
    return Math.max(this.lastStepSeconds, this.averageStepSeconds);
  }

  remainingSeconds(): number {
    return (this.deadline - this.now()) / 1000;
  }

  /** True when the next step would end inside the margin before the deadline: checkpoint and stop now. */
  outOfTime(): boolean {
    return this.remainingSeconds() - this.estimatedStepSeconds() < this.marginSeconds;
  }

  /** Whether to checkpoint after `step`: every N steps, and whenever the budget is about to run out. */
  shouldCheckpoint(step: number): boolean {
    return (this.checkpointEvery > 0 && step > 0 && step % this.checkpointEvery === 0) || this.outOfTime();
  }
}
