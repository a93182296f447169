// Text rewards: each built-in function on a table of hand-written completions with expected scores, the combiner
// (weights, per-function metrics, errors of user functions), the registry, and a fuzz over thousands of mutated
// completions (every built-in returns a finite number and never throws).
import { describe, expect, it } from "vitest";
import { rl } from "../../src/index.js";
import { makeRng } from "../helpers/arrays.js";

const fns = {
  exact: rl.exactFormat(),
  approx: rl.approximateFormat(),
  correct: rl.answerCorrectness(),
  number: rl.numberMatch(),
  length: rl.reasoningLength(),
  keywords: rl.reasoningKeywords(),
};
type Scores = { [K in keyof typeof fns]: number };

interface Row {
  why: string;
  completion: string;
  answer: string;
  expected: Scores;
}

// Expected scores worked out by hand from the rules in src/rl/rewards.ts.
const table: Row[] = [
  {
    why: "perfect: format, correct, 15 reasoning words, keywords because/so/total",
    completion: "<reasoning>I add 2 and 3 because the total is 5, so the answer is 5.</reasoning><answer>5</answer>",
    answer: "5",
    expected: { exact: 3, approx: 2, correct: 3, number: 1.5, length: 15 / 40, keywords: 0.75 },
  },
  {
    why: "whitespace around the parts; ' 5 ' equals 5 numerically",
    completion: "  \n<reasoning>x</reasoning>\n<answer> 5 </answer>\n",
    answer: "5",
    expected: { exact: 3, approx: 2, correct: 3, number: 1.5, length: 1 / 40, keywords: 0 },
  },
  {
    why: "no answer tags: approx 0.5 + 0.5 - 0.5 - 0.5, nothing to grade",
    completion: "<reasoning>think</reasoning> 5",
    answer: "5",
    expected: { exact: 0, approx: 0, correct: 0, number: 0, length: 1 / 40, keywords: 0 },
  },
  {
    why: "wrong number: 7 / 5 = 1.4 is outside [0.8, 1.2]",
    completion: "<reasoning>a</reasoning><answer>7</answer>",
    answer: "5",
    expected: { exact: 3, approx: 2, correct: -1, number: 0, length: 1 / 40, keywords: 0 },
  },
  {
    why: "close: 95 / 100 in [0.9, 1.1]",
    completion: "<reasoning>a b</reasoning><answer>95</answer>",
    answer: "100",
    expected: { exact: 3, approx: 2, correct: 0.5, number: 0, length: 2 / 40, keywords: 0 },
  },
  {
    why: "near: 85 / 100 in [0.8, 1.2]",
    completion: "<reasoning>a b</reasoning><answer>85</answer>",
    answer: "100",
    expected: { exact: 3, approx: 2, correct: 0.25, number: 0, length: 2 / 40, keywords: 0 },
  },
  {
    why: "non-numeric answer equal after trimming",
    completion: "<reasoning>first the capital, then the country</reasoning><answer> Paris</answer>",
    answer: "Paris",
    expected: { exact: 3, approx: 2, correct: 1.5, number: 0, length: 6 / 40, keywords: 0.5 },
  },
  {
    why: "non-numeric answer wrong",
    completion: "<reasoning>a</reasoning><answer>London</answer>",
    answer: "Paris",
    expected: { exact: 3, approx: 2, correct: -1, number: 0, length: 1 / 40, keywords: 0 },
  },
  {
    why: "numeric reference, unparseable guess",
    completion: "<reasoning>a</reasoning><answer>forty-two</answer>",
    answer: "42",
    expected: { exact: 3, approx: 2, correct: -0.5, number: 0, length: 1 / 40, keywords: 0 },
  },
  {
    why: "thousands separators and a dollar sign; 7 words (each, box:, 250, =, 1000, /, 4)",
    completion: "<reasoning>each box: 250 = 1000 / 4</reasoning><answer>$1,000</answer>",
    answer: "1000",
    expected: { exact: 3, approx: 2, correct: 3, number: 1.5, length: 7 / 40, keywords: 0.5 },
  },
  {
    why: "duplicated tags: still the exact form (answer spans to the last </answer>), approx -2",
    completion: "<reasoning>a</reasoning><reasoning>b</reasoning><answer>1</answer><answer>2</answer>",
    answer: "2",
    expected: { exact: 3, approx: -2, correct: -0.5, number: 0, length: 1 / 40, keywords: 0 },
  },
  {
    why: "text after the answer breaks the exact format; the answer is still graded",
    completion: "<reasoning>a</reasoning><answer>5</answer> trailing",
    answer: "5",
    expected: { exact: 0, approx: 2, correct: 3, number: 1.5, length: 1 / 40, keywords: 0 },
  },
  {
    why: "empty reasoning is not the exact format",
    completion: "<reasoning></reasoning><answer>5</answer>",
    answer: "5",
    expected: { exact: 0, approx: 2, correct: 3, number: 1.5, length: 0, keywords: 0 },
  },
  {
    why: "negative numbers and 1e-6 relative tolerance",
    completion: "<reasoning>a</reasoning><answer>-3.0000001</answer>",
    answer: "-3",
    expected: { exact: 3, approx: 2, correct: 3, number: 1.5, length: 1 / 40, keywords: 0 },
  },
  {
    why: "a zero reference: any other number is wrong",
    completion: "<reasoning>a</reasoning><answer>1</answer>",
    answer: "0",
    expected: { exact: 3, approx: 2, correct: -1, number: 0, length: 1 / 40, keywords: 0 },
  },
  {
    why: "long reasoning is capped at 1; keywords capped at 1",
    completion: `<reasoning>${"first then so because total each step therefore ".repeat(10)}</reasoning><answer>x</answer>`,
    answer: "y",
    expected: { exact: 3, approx: 2, correct: -1, number: 0, length: 1, keywords: 1 },
  },
  {
    why: "number match reads the first number after <answer> even in prose; approx -0.5 - 0.5 + 0.5 + 0.5",
    completion: "<answer>The result is 12 apples</answer>",
    answer: "12",
    expected: { exact: 0, approx: 0, correct: -0.5, number: 1.5, length: 0, keywords: 0 },
  },
];

describe("built-in rewards", () => {
  for (const row of table) {
    it(row.why, () => {
      const sample = { prompt: "q", completion: row.completion, answer: row.answer };
      const got = Object.fromEntries(Object.entries(fns).map(([k, fn]) => [k, fn.score(sample)]));
      expect(got).toEqual(expectClose(row.expected));
    });
  }

  it("parsers on their own", () => {
    expect(rl.parseNumber("1,234.5")).toBe(1234.5);
    expect(rl.parseNumber("-$3")).toBe(-3);
    expect(rl.parseNumber("50%")).toBe(50);
    expect(rl.parseNumber("7.")).toBe(7);
    expect(rl.parseNumber("2e3")).toBe(2000);
    for (const bad of ["", ".", "1/2", "NaN", "Infinity", "12,34", "1e999", "e5", "--1", "1.2.3"]) expect(rl.parseNumber(bad), bad).toBeUndefined();
    expect(rl.parseExactFormat("<reasoning>r</reasoning>mid<answer>a</answer>")).toEqual({ reasoning: "r", answer: "a" });
    expect(rl.parseExactFormat("x<reasoning>r</reasoning><answer>a</answer>")).toBeUndefined();
    expect(rl.parseExactFormat("<reasoning>r</reasoning><answer></answer>")).toBeUndefined();
    expect(rl.extractAnswer("junk <answer>4</answer> more")).toBe("4");
    expect(rl.extractReasoning("<reasoning>why")).toBeUndefined();
  });

  it("options change the scores and are validated", () => {
    const s = { prompt: "", completion: "<reasoning>a</reasoning><answer>5</answer>", answer: "5" };
    expect(rl.exactFormat({ reward: 1 }).score(s)).toBe(1);
    expect(rl.approximateFormat({ perTag: 0.25 }).score(s)).toBe(1);
    expect(rl.answerCorrectness({ correct: 2 }).score(s)).toBe(2);
    expect(rl.reasoningLength({ targetWords: 2 }).score(s)).toBe(0.5);
    expect(rl.reasoningKeywords({ keywords: ["a"], perKeyword: 0.4 }).score(s)).toBe(0.4);
    expect(() => rl.exactFormat({ reward: Number.NaN })).toThrow(/exactFormat.reward must be a finite number/);
    expect(() => rl.reasoningLength({ targetWords: 0 })).toThrow(/targetWords must be positive/);
  });
});

/** The expected scores with float-tolerant matchers. */
function expectClose(expected: Scores): Record<string, unknown> {
  return Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, expect.closeTo(v, 12)]));
}

describe("RewardCombiner", () => {
  const samples = [
    { prompt: "", completion: "<reasoning>a</reasoning><answer>5</answer>", answer: "5" },
    { prompt: "", completion: "no format at all", answer: "5" },
    { prompt: "", completion: "<reasoning>a</reasoning><answer>7</answer>", answer: "5" },
  ];

  it("sums weighted scores and reports per-function mean and std (ddof 1)", () => {
    const combiner = new rl.RewardCombiner([{ fn: rl.exactFormat(), weight: 2 }, { fn: rl.answerCorrectness() }]);
    const batch = combiner.score(samples);
    // exact: [3, 0, 3]; correctness: [3, 0, -1]; total = 2 exact + correctness = [9, 0, 5].
    expect(batch.perFunction).toEqual({ exact_format: [3, 0, 3], answer_correctness: [3, 0, -1] });
    expect(batch.total).toEqual([9, 0, 5]);
    expect(batch.metrics["rewards/exact_format/mean"]).toBeCloseTo(2, 12);
    // exact: deviations [1, -2, 1], squares 6, / 2 = 3.
    expect(batch.metrics["rewards/exact_format/std"]).toBeCloseTo(Math.sqrt(3), 12);
    // correctness: mean 2/3; deviations [7/3, -2/3, -5/3]; squares (49 + 4 + 25) / 9 = 78 / 9; / 2 = 13 / 3.
    expect(batch.metrics["rewards/answer_correctness/mean"]).toBeCloseTo(2 / 3, 12);
    expect(batch.metrics["rewards/answer_correctness/std"]).toBeCloseTo(Math.sqrt(13 / 3), 12);
    expect(batch.metrics["reward/mean"]).toBeCloseTo(14 / 3, 12);
    expect(batch.metrics["reward/min"]).toBe(0);
    expect(batch.metrics["reward/max"]).toBe(9);
    expect(batch.metrics["rewards/exact_format/errors"]).toBe(0);
  });

  it("a user function that throws or returns NaN scores 0 and is counted", () => {
    const lengthBonus: rl.RewardFunction = { name: "length_bonus", score: (s) => s.completion.length / 100 };
    const flaky: rl.RewardFunction = {
      name: "flaky",
      score: (s) => {
        if (s.completion.startsWith("no")) throw new Error("boom");
        return s.completion.includes("7") ? Number.NaN : 1;
      },
    };
    const batch = new rl.RewardCombiner([{ fn: lengthBonus }, { fn: flaky, weight: 10 }]).score(samples);
    expect(batch.perFunction.flaky).toEqual([1, 0, 0]);
    expect(batch.metrics["rewards/flaky/errors"]).toBe(2);
    expect(batch.total[0]).toBeCloseTo(samples[0]!.completion.length / 100 + 10, 12);
  });

  it("the default set and the registry", () => {
    const batch = rl.defaultRewards().score(samples);
    expect(Object.keys(batch.perFunction)).toEqual(["exact_format", "approximate_format", "answer_correctness", "number_match", "reasoning_length", "reasoning_keywords"]);
    // Sample 0: 3 + 2 + 3 + 1.5 + 1/40 + 0.
    expect(batch.total[0]).toBeCloseTo(9.525, 12);
    const registry = rl.builtinRewards();
    expect(registry.names()).toContain("number_match");
    expect(registry.create("exact_format", { reward: 5 }).score(samples[0]!)).toBe(5);
    registry.register("always_one", () => ({ name: "always_one", score: () => 1 }));
    expect(registry.create("always_one").score(samples[1]!)).toBe(1);
    expect(() => registry.create("nope")).toThrow(/unknown reward 'nope'; known: exact_format/);
    expect(() => registry.register("always_one", () => rl.exactFormat())).toThrow(/already registered/);
    expect(() => new rl.RewardCombiner([])).toThrow(/at least one/);
    expect(() => new rl.RewardCombiner([{ fn: rl.exactFormat() }, { fn: rl.exactFormat() }])).toThrow(/two reward functions are named 'exact_format'/);
    expect(() => new rl.RewardCombiner([{ fn: rl.exactFormat(), weight: Number.POSITIVE_INFINITY }])).toThrow(/weight of 'exact_format'/);
  });
});

describe("fuzz", () => {
  const pieces = ["<reasoning>", "</reasoning>", "<answer>", "</answer>", "<", ">", "/", " ", "\n", "1", "0", ",", ".", "-", "$", "%", "e", "\u0000", "\ud800", "😀", "answer", "reasoning"];

  function mutate(text: string, rng: () => number): string {
    let s = text;
    const edits = 1 + Math.floor(rng() * 6);
    for (let k = 0; k < edits; k++) {
      const at = Math.floor(rng() * (s.length + 1));
      const choice = rng();
      if (choice < 0.4) s = s.slice(0, at) + pieces[Math.floor(rng() * pieces.length)]! + s.slice(at);
      else if (choice < 0.7) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rng() * 8));
      else if (choice < 0.85) s = s.slice(0, at) + String.fromCharCode(Math.floor(rng() * 0x10000)) + s.slice(at);
      else s = s.slice(at) + s.slice(0, at);
    }
    return s;
  }

  it("every built-in returns a finite number on 5000 mutated completions and odd answers", () => {
    const rng = makeRng(2026);
    const all = Object.values(fns);
    const answers = ["5", "100", "Paris", "", "1,000", "-3", "0", "<answer>", "1e400"];
    let checked = 0;
    for (let i = 0; i < 5000; i++) {
      const base = table[i % table.length]!.completion;
      const completion = mutate(base, rng);
      const sample = { prompt: "", completion, answer: answers[i % answers.length]! };
      for (const fn of all) {
        const v = fn.score(sample);
        if (!Number.isFinite(v)) throw new Error(`${fn.name} returned ${v} for ${JSON.stringify(completion)}`);
        checked++;
      }
    }
    expect(checked).toBe(5000 * all.length);
  });

  it("non-string fields and huge inputs do not throw or hang", () => {
    const all = Object.values(fns);
    const weird = [
      { prompt: "", completion: undefined as unknown as string, answer: undefined },
      { prompt: "", completion: 42 as unknown as string, answer: 7 as unknown as string },
      { prompt: "", completion: "<reasoning>".repeat(20000) + "</answer>".repeat(20000), answer: "1" },
      { prompt: "", completion: `<reasoning>${"a ".repeat(100000)}</reasoning><answer>${"9".repeat(50000)}</answer>`, answer: "9" },
      { prompt: "", completion: `<answer>${"1,".repeat(50000)}</answer>`, answer: "1" },
    ];
    for (const sample of weird) for (const fn of all) expect(Number.isFinite(fn.score(sample)), fn.name).toBe(true);
  });
});
