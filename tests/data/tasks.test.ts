import { describe, expect, it } from "vitest";
import { TEMPLATE_NAMES, builtinTasks, generateTasks, inFactsShare, splitOf, taskAt } from "../../src/data/tasks.js";
import type { Example } from "../../src/data/example.js";
import { workedSolution } from "../../src/data/sft.js";

// Recomputes each template's answer from the numbers in the question text: an oracle independent of the
// generator's own arithmetic.
const ORACLES: Record<string, { pattern: RegExp; answer: (n: number[]) => number }> = {
  sum: { pattern: /has (\d+) \w+\. \w+ gets (\d+) more/, answer: ([a, b]) => a! + b! },
  difference: { pattern: /had (\d+) \w+ and gave (\d+) of/, answer: ([a, b]) => a! - b! },
  product: { pattern: /buys (\d+) bags of \w+\. Each bag holds (\d+)/, answer: ([a, b]) => a! * b! },
  division: { pattern: /shares (\d+) \w+ equally among (\d+) friends/, answer: ([a, b]) => a! / b! },
  remainder: { pattern: /packs (\d+) \w+ into boxes of (\d+)/, answer: ([a, b]) => a! % b! },
  change: { pattern: /buys (\d+) [\w ]+ at \$(\d+) each and pays with \$(\d+)/, answer: ([a, b, c]) => c! - a! * b! },
  "rows-plus": { pattern: /has (\d+) shelves with (\d+) \w+ on each shelf\. \w+ brings (\d+) more/, answer: ([a, b, c]) => a! * b! + c! },
  "percent-off": { pattern: /costs \$(\d+)\. The shop takes (\d+)% off/, answer: ([a, b]) => a! - (a! * b!) / 100 },
  average: { pattern: /scored (\d+), (\d+) and (\d+) points/, answer: ([a, b, c]) => (a! + b! + c!) / 3 },
  chain: { pattern: /starts with (\d+) \w+\. \w+ ends up with (\d+) times as many, then gives away (\d+) and later finds (\d+)/, answer: ([a, b, c, d]) => a! * b! - c! + d! },
};

/** Checks every "x op y = z" and "x op y op z = w" in the worked solution with JS arithmetic. */
function checkSteps(reasoning: string): number {
  let checked = 0;
  for (const match of reasoning.matchAll(/(-?\d+(?: [-+*/] -?\d+)+) = (-?\d+)/g)) {
    const tokens = match[1]!.split(" ");
    let value = Number(tokens[0]);
    for (let i = 1; i < tokens.length; i += 2) {
      const operand = Number(tokens[i + 1]);
      const op = tokens[i];
      value = op === "+" ? value + operand : op === "-" ? value - operand : op === "*" ? value * operand : value / operand;
    }
    expect(value, `step "${match[0]}"`).toBe(Number(match[2]));
    checked++;
  }
  return checked;
}

function numbersOf(task: Example): number[] {
  return (task.question.match(/\d+/g) ?? []).map(Number);
}

describe("built-in tasks", () => {
  const train = generateTasks({ seed: 7, split: "train", size: 1500 });

  it("every answer matches the question's arithmetic and every solution step is correct", () => {
    const seen = new Set<string>();
    for (const task of train) {
      const oracle = ORACLES[task.template!];
      expect(oracle, task.template).toBeDefined();
      const match = oracle!.pattern.exec(task.question);
      expect(match, task.question).not.toBeNull();
      const expected = oracle!.answer(match!.slice(1).map(Number));
      expect(Number.isInteger(expected) && expected >= 0, task.question).toBe(true);
      expect(task.answer).toBe(String(expected));
      expect(checkSteps(task.reasoning!)).toBeGreaterThan(0);
      // The solution's last result is the answer.
      expect(task.reasoning!.match(/-?\d+/g)!.at(-1)).toBe(task.answer);
      seen.add(task.template!);
    }
    expect([...seen].sort()).toEqual([...TEMPLATE_NAMES].sort());
  });

  it("uses only templates allowed at each level, and larger numbers at higher levels", () => {
    const levelOne = generateTasks({ seed: 3, split: "train", size: 300, levels: [1] });
    expect(new Set(levelOne.map((t) => t.template))).toEqual(new Set(["sum", "difference", "product"]));
    expect(Math.max(...levelOne.flatMap(numbersOf))).toBeLessThanOrEqual(25);
    // Level 0 (issue 8: a demo model trained from scratch): sums of single digits, differences below 15, answers
    // still checked by the oracles above.
    const levelZero = generateTasks({ seed: 3, split: "train", size: 300, levels: [0] });
    expect(new Set(levelZero.map((t) => t.template))).toEqual(new Set(["sum", "difference"]));
    for (const task of levelZero) {
      const [a, b] = ORACLES[task.template!]!.pattern.exec(task.question)!.slice(1).map(Number) as [number, number];
      if (task.template === "sum") expect(Math.max(a, b)).toBeLessThanOrEqual(9);
      else expect(a).toBeLessThanOrEqual(14);
      expect(task.answer).toBe(String(ORACLES[task.template!]!.answer([a, b])));
    }
    const levelThree = generateTasks({ seed: 3, split: "train", size: 300, levels: [3] });
    expect(levelThree.every((t) => t.level === 3)).toBe(true);
    expect(Math.max(...levelThree.flatMap(numbersOf))).toBeGreaterThan(100);
  });

  it("is deterministic: same seed and index give the same task, on any machine (golden values)", () => {
    const again = builtinTasks({ seed: 7, split: "train", size: 1500 });
    for (const i of [0, 1, 777, 1499]) expect(again.get(i)).toEqual(train[i]);
    // Random access does not depend on the set's size.
    expect(taskAt({ seed: 7, split: "train", size: 1 }, 1499)).toEqual(train[1499]);
    // Frozen values: a change of PRNG, hash or templates shows up here.
    expect(taskAt({ seed: 42, split: "train", size: 1 }, 0)).toMatchInlineSnapshot(`
      {
        "answer": "54",
        "id": "builtin:train:42:0",
        "level": 1,
        "question": "Kenji buys 9 bags of pencils. Each bag holds 6 pencils. How many pencils does Kenji buy in total?",
        "reasoning": "There are 9 bags with 6 pencils each.
      9 * 6 = 54.",
        "template": "product",
      }
    `);
    expect(taskAt({ seed: 42, split: "heldout", size: 1 }, 5).question).toMatchInlineSnapshot(`"A shop has 19 shelves with 31 beads on each shelf. Lena brings 124 more beads. How many beads does the shop have now?"`);
    expect(generateTasks({ seed: 8, split: "train", size: 20 })).not.toEqual(generateTasks({ seed: 7, split: "train", size: 20 }));
  });

  it("never puts a held-out problem in training, whatever the seeds", () => {
    const key = (t: Example) => `${t.template}|${numbersOf(t).join(",")}`;
    const trainKeys = new Set([...train, ...generateTasks({ seed: 99, split: "train", size: 1500 })].map(key));
    const heldOut = [...generateTasks({ seed: 7, split: "heldout", size: 400 }), ...generateTasks({ seed: 1234, split: "heldout", size: 400 })];
    for (const task of heldOut) {
      expect(trainKeys.has(key(task)), task.question).toBe(false);
      expect(splitOf(task.template!, numbersOf(task), 0.1)).toBe("heldout");
    }
    for (const task of train) expect(splitOf(task.template!, numbersOf(task), 0.1)).toBe("train");
    // The held-out set is varied, not a handful of repeats.
    expect(new Set(heldOut.map(key)).size).toBeGreaterThan(400);
  });

  it("held out by text (issue 8 demo): no held-out question is in training, and at level 0 every held-out arithmetic fact is", () => {
    const options = { levels: [0] as const, heldOutBy: "text" as const };
    const fact = (t: Example) => `${t.template}|${numbersOf(t).join(",")}`;
    for (const seed of [0, 1, 2]) {
      // The cpu recipe's sizes: 4000 training tasks, 256 held out.
      const trainTasks = generateTasks({ seed, split: "train", size: 4000, ...options });
      const heldOut = generateTasks({ seed, split: "heldout", size: 256, ...options });
      const trainQuestions = new Set(trainTasks.map((t) => t.question));
      const trainFacts = new Set(trainTasks.map(fact));
      for (const task of heldOut) {
        expect(trainQuestions.has(task.question), task.question).toBe(false);
        expect(trainFacts.has(fact(task)), `fact of "${task.question}"`).toBe(true);
        expect(splitOf(task.template!, numbersOf(task), 0.1, "text", task.question)).toBe("heldout");
      }
      // Level 0 has 162 facts (81 sums of digits 1-9, 81 differences a - b with 6 <= a <= 14, 1 <= b < a): all trained on.
      expect(trainFacts.size).toBe(162);
      expect(new Set(heldOut.map((t) => t.question)).size).toBeGreaterThan(200);
    }
    // Other seeds' training sets never hold a held-out question either: the split is a property of the text.
    const heldOut = new Set(generateTasks({ seed: 5, split: "heldout", size: 300, ...options }).map((t) => t.question));
    for (const task of generateTasks({ seed: 77, split: "train", size: 3000, ...options })) expect(heldOut.has(task.question)).toBe(false);
    expect(() => splitOf("sum", [1, 2], 0.1, "text")).toThrow(/needs the question/);
    expect(() => generateTasks({ seed: 1, split: "train", size: 1, heldOutBy: "names" as "text" })).toThrow(/heldOutBy must be "numbers" or "text"/);
  });

  it("factsFraction narrows training to a fixed share of the facts, the same for every seed; held-out tasks keep all (issue 8 demo)", () => {
    const options = { levels: [0] as const, heldOutBy: "text" as const };
    const fact = (t: Example) => `${t.template}|${numbersOf(t).join(",")}`;
    const shares: Set<string>[] = [];
    for (const seed of [0, 1]) {
      const half = generateTasks({ seed, split: "train", size: 3000, factsFraction: 0.5, ...options });
      for (const task of half) expect(inFactsShare(task.template!, numbersOf(task), 0.5), task.question).toBe(true);
      shares.push(new Set(half.map(fact)));
      // Held-out tasks are drawn as without the option: every fact, the same tasks.
      expect(generateTasks({ seed, split: "heldout", size: 50, factsFraction: 0.5, ...options })).toEqual(generateTasks({ seed, split: "heldout", size: 50, ...options }));
    }
    expect([...shares[0]!].sort()).toEqual([...shares[1]!].sort());
    // About half of the 162 level-0 facts; the rest never occur in training.
    const all = new Set(generateTasks({ seed: 0, split: "train", size: 4000, ...options }).map(fact));
    expect(all.size).toBe(162);
    expect(shares[0]!.size).toBeGreaterThan(60);
    expect(shares[0]!.size).toBeLessThan(102);
    const outside = [...all].filter((f) => !shares[0]!.has(f));
    for (const f of outside) {
      const [template, numbers] = f.split("|");
      expect(inFactsShare(template!, numbers!.split(",").map(Number), 0.5), f).toBe(false);
    }
    expect(generateTasks({ seed: 0, split: "train", size: 30, factsFraction: 1, ...options })).toEqual(generateTasks({ seed: 0, split: "train", size: 30, ...options }));
    expect(() => generateTasks({ seed: 1, split: "train", size: 1, factsFraction: 0 })).toThrow(/factsFraction must be in \(0, 1\], got 0/);
    expect(() => generateTasks({ seed: 1, split: "train", size: 1, factsFraction: 1.5 })).toThrow(/factsFraction/);
  });

  it("otherFactsRate keeps facts outside the share at that rate, seeded; 0 is the plain share (issue 8 demo)", () => {
    const options = { levels: [0] as const, heldOutBy: "text" as const, factsFraction: 0.5 };
    const outsideShare = (t: Example) => !inFactsShare(t.template!, numbersOf(t), 0.5);
    const size = 4000;
    const skewed = generateTasks({ seed: 3, split: "train", size, otherFactsRate: 0.2, ...options });
    expect(generateTasks({ seed: 3, split: "train", size: 40, otherFactsRate: 0.2, ...options })).toEqual(skewed.slice(0, 40));
    // Both halves of the facts are drawn alike before the coin, so outside facts make up r(1-f) / (f + r(1-f)) of
    // the tasks, with f the share of draws inside (about one half): 1/6 at r = 0.2. Binomial sd at n = 4000: 0.006.
    const inside = generateTasks({ seed: 3, split: "train", size: 400, ...options, factsFraction: 1 }).filter((t) => !outsideShare(t)).length / 400;
    const expected = (0.2 * (1 - inside)) / (inside + 0.2 * (1 - inside));
    const share = skewed.filter(outsideShare).length / size;
    expect(Math.abs(share - expected), `outside share ${share} against ${expected}`).toBeLessThan(0.03);
    // Every fact still occurs: rare, not absent.
    const fact = (t: Example) => `${t.template}|${numbersOf(t).join(",")}`;
    expect(new Set(skewed.map(fact)).size).toBeGreaterThan(155);
    expect(generateTasks({ seed: 3, split: "train", size: 50, otherFactsRate: 0, ...options })).toEqual(generateTasks({ seed: 3, split: "train", size: 50, ...options }));
    expect(generateTasks({ seed: 3, split: "train", size: 200, otherFactsRate: 0, ...options }).some(outsideShare)).toBe(false);
    expect(generateTasks({ seed: 3, split: "heldout", size: 50, otherFactsRate: 0.2, ...options })).toEqual(generateTasks({ seed: 3, split: "heldout", size: 50, ...options }));
    expect(() => generateTasks({ seed: 1, split: "train", size: 1, otherFactsRate: -0.1 })).toThrow(/otherFactsRate must be in \[0, 1\], got -0.1/);
    expect(() => generateTasks({ seed: 1, split: "train", size: 1, otherFactsRate: 2 })).toThrow(/otherFactsRate/);
  });

  it("formats worked solutions as <reasoning>...</reasoning><answer>n</answer>", () => {
    const text = workedSolution(train[0]!);
    expect(text).toMatch(/^<reasoning>[^<]+<\/reasoning><answer>\d+<\/answer>$/);
    expect(text.endsWith(`<answer>${train[0]!.answer}</answer>`)).toBe(true);
  });

  it("rejects bad options with a clear message", () => {
    expect(() => generateTasks({ seed: -1, split: "train", size: 1 })).toThrow(/seed/);
    expect(() => generateTasks({ seed: 1, split: "train", size: 1, levels: [] })).toThrow(/levels/);
    expect(() => generateTasks({ seed: 1, split: "train", size: 1, levels: [4 as 1] })).toThrow(/levels must be a non-empty list of 0, 1, 2, 3/);
    expect(() => generateTasks({ seed: 1, split: "train", size: 1, heldOutFraction: 1 })).toThrow(/heldOutFraction/);
    expect(() => builtinTasks({ seed: 1, split: "train", size: 3 }).get(3)).toThrow(/outside/);
  });
});
