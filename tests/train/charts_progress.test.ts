import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ProgressBar, type ProgressStream } from "../../src/train/progress.js";
import { formatTick, lineChartSvg, niceTicks, writeCurves } from "../../src/train/svg_chart.js";

describe("SVG line charts", () => {
  it("chooses ticks at 1/2/5 x 10^k covering the data", () => {
    expect(niceTicks(0, 1)).toEqual({ domain: [0, 1], ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] });
    expect(niceTicks(3, 97)).toEqual({ domain: [0, 100], ticks: [0, 20, 40, 60, 80, 100] });
    expect(niceTicks(-0.013, 0.021).ticks).toEqual([-0.02, -0.01, 0, 0.01, 0.02, 0.03]);
    expect(niceTicks(5, 5).domain).toEqual([4.4, 5.6]);
    expect(formatTick(3e-6)).toBe("3.0e-6");
    expect(formatTick(0.25)).toBe("0.25");
  });

  it("places each point on the plot by the axis mapping, one path per series, NaN breaking the line", () => {
    const svg = lineChartSvg(
      [
        { name: "reward <mean>", points: [[0, 0], [50, 0.5], [100, 1]] },
        { name: "kl", points: [[0, 1], [50, Number.NaN], [100, 0]] },
      ],
      { title: "GRPO & rewards", xLabel: "step", width: 640, height: 400 },
    );
    const paths = [...svg.matchAll(/<path class="series" data-name="([^"]*)" d="([^"]*)"/g)];
    expect(paths.map((p) => p[1])).toEqual(["reward &lt;mean&gt;", "kl"]);
    // Plot area: x in [70, 620] for steps [0, 100]; y in [40, 350] for values [0, 1] (y grows downwards).
    expect(paths[0]![2]).toBe("M70 350 L345 195 L620 40");
    expect(paths[1]![2]).toBe("M70 40 M620 350");
    expect(svg).toContain(">GRPO &amp; rewards</text>");
    expect([...svg.matchAll(/class="xtick"[^>]*>([^<]*)</g)].map((m) => m[1])).toEqual(["0", "20", "40", "60", "80", "100"]);
    expect(svg.startsWith("<svg ")).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
  });

  it("writes one file per metric group", () => {
    const dir = mkdtempSync(join(tmpdir(), "grpo-curves-"));
    const history = new Map<string, [number, number][]>([["reward/mean", [[1, 0.1], [2, 0.4]]], ["loss", [[1, 2], [2, 1]]]]);
    const files = writeCurves(dir, history);
    expect(files.map((f) => f.slice(dir.length + 1)).sort()).toEqual(["loss.svg", "reward_mean.svg"]);
    const grouped = writeCurves(dir, history, [{ file: "all", title: "all", metrics: ["loss", "reward/mean", "missing"] }]);
    expect(readFileSync(grouped[0]!, "utf8").match(/class="series"/g)).toHaveLength(2);
  });
});

function fakeStream(isTTY: boolean): ProgressStream & { out: string } {
  return {
    out: "",
    isTTY,
    columns: 200,
    write(text: string) {
      this.out += text;
      return true;
    },
  };
}

describe("ProgressBar", () => {
  it("shows rate and ETA from the steps done since the first update", () => {
    let clock = 0;
    const stream = fakeStream(true);
    const bar = new ProgressBar({ total: 100, label: "grpo", stream, now: () => clock });
    bar.update(40); // resumed at step 40
    clock += 20_000;
    bar.update(50, "loss 0.31");
    expect(bar.estimate()).toEqual({ secondsPerUnit: 2, etaSeconds: 100 });
    expect(bar.render()).toBe("grpo [##########..........] 50/100 50% 2.00s/it elapsed 20s eta 1m40s loss 0.31");
    expect(stream.out.endsWith("\r\x1b[2Kgrpo [##########..........] 50/100 50% 2.00s/it elapsed 20s eta 1m40s loss 0.31")).toBe(true);
    bar.finish();
    expect(stream.out.endsWith("\n")).toBe(true);
  });

  it("prints plain periodic lines when not a TTY", () => {
    let clock = 0;
    const stream = fakeStream(false);
    const bar = new ProgressBar({ total: 10, stream, periodSeconds: 30, now: () => clock });
    for (let step = 1; step <= 10; step++) {
      clock += 10_000;
      bar.update(step);
    }
    bar.finish();
    const lines = stream.out.trim().split("\n");
    // First update, then every 30 s (steps 4, 7, 10), then the final line.
    expect(lines.map((l) => l.split(" ")[1])).toEqual(["1/10", "4/10", "7/10", "10/10", "10/10"]);
    expect(stream.out).not.toContain("\r");
  });
});
