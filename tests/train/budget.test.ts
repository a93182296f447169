import { describe, expect, it } from "vitest";
import { WallClockBudget } from "../../src/train/budget.js";

describe("WallClockBudget", () => {
  it("asks for a checkpoint before the next step would cross deadline minus margin", () => {
    let clock = 0;
    const budget = new WallClockBudget({ budget: "10m", marginSeconds: 60, checkpointEvery: 100, now: () => clock });
    expect(budget.deadline).toBe(600_000);
    // Steps of 100 s: after 4 steps (t = 400 s) the next one ends at 500 s, before 540 s: go on.
    for (let step = 1; step <= 4; step++) {
      clock += 100_000;
      budget.stepDone();
      expect(budget.shouldCheckpoint(step), `step ${step}`).toBe(false);
    }
    clock += 100_000;
    budget.stepDone();
    // t = 500 s: the next step would end at 600 s > 540 s.
    expect(budget.estimatedStepSeconds()).toBe(100);
    expect(budget.outOfTime()).toBe(true);
    expect(budget.shouldCheckpoint(5)).toBe(true);
    expect(budget.remainingSeconds()).toBe(100);
  });

  it("takes a sudden slow step into account at once", () => {
    let clock = 0;
    const budget = new WallClockBudget({ budget: 1000, marginSeconds: 0, now: () => clock });
    for (let i = 0; i < 10; i++) {
      clock += 10_000;
      budget.stepDone();
    }
    clock += 300_000; // an evaluation step: t = 400 s
    budget.stepDone();
    expect(budget.estimatedStepSeconds()).toBe(300);
    expect(budget.outOfTime()).toBe(false); // 400 + 300 < 1000
    clock += 290_000;
    budget.stepDone();
    expect(budget.estimatedStepSeconds()).toBe(290);
    expect(budget.outOfTime()).toBe(false); // t = 690 s: the next step (~290 s) ends at 980 s
    clock += 20_000;
    budget.stepDone();
    // t = 710 s: the short step does not hide the slow ones (the average is ~94 s), and 710 + 94 < 1000.
    expect(budget.estimatedStepSeconds()).toBeCloseTo(93.92, 2);
    expect(budget.outOfTime()).toBe(false);
    clock += 200_000;
    budget.stepDone();
    expect(budget.outOfTime()).toBe(true); // t = 910 s: the next ~200 s step would end at 1110 s
  });

  it("checkpoints every N steps and never runs out without a budget", () => {
    let clock = 0;
    const budget = new WallClockBudget({ checkpointEvery: 3, now: () => clock });
    clock += 1e12;
    budget.stepDone();
    expect([1, 2, 3, 4, 6].map((s) => budget.shouldCheckpoint(s))).toEqual([false, false, true, false, true]);
    expect(budget.outOfTime()).toBe(false);
    expect(() => new WallClockBudget({ budget: "soon" })).toThrow(/not a duration/);
  });
});
