// Built-in verifiable tasks: arithmetic word problems with exact integer answers and worked solutions.
//
// Task `index` of a split is a pure function of (seed, split, index), so any slice of any size is reproducible on
// any machine. A fixed hash puts every possible problem in exactly one split, whatever the seeds, so no held-out
// problem ever appears in training. What the hash reads is the split's meaning (`heldOutBy`):
//   "numbers": the problem's mathematical content (template and numbers, not the names or objects in the text), so
//              a held-out problem is an unseen arithmetic fact (a model must generalise the arithmetic itself);
//   "text":    the whole problem text (template, names, objects and numbers), so a held-out problem is one never
//              seen as written, while its arithmetic fact (template and numbers) may well be among the training
//              problems under other names and objects. At level 0 every fact has about a hundred wordings, so all
//              facts are in any training set of a few thousand tasks: held-out accuracy then measures reading an
//              unseen problem and applying learnt facts to it, not computing unseen sums.
import type { Dataset, Example } from "./example.js";
import { Rng, hashString } from "./prng.js";

export type Split = "train" | "heldout";
export type Level = 0 | 1 | 2 | 3;
/** What decides a problem's split: its arithmetic content, or its whole text (see the file comment). */
export type HeldOutBy = "numbers" | "text";

export const HELD_OUT_BY: readonly HeldOutBy[] = ["numbers", "text"];

export interface TaskOptions {
  seed: number;
  split: Split;
  /** Number of tasks. Any size: tasks are generated on demand. */
  size: number;
  /** Difficulty levels to draw from (uniformly). Default [1, 2, 3]. */
  levels?: readonly Level[];
  /** Share of all problems reserved for the held-out split, in (0, 1). Default 0.1. It must be the same for the
   * training and the held-out sets of one experiment. */
  heldOutFraction?: number;
  /** What the held-out split is made of (default "numbers"). Same for both sets of one experiment. */
  heldOutBy?: HeldOutBy;
  /** Share of the arithmetic facts (template and numbers) the training split draws from, in (0, 1]; default 1. A
   * fixed hash of the fact decides, the same for every seed; the held-out split is never narrowed, so a model
   * trained on a share is evaluated on every fact (e.g. worked solutions for some facts, GRPO on all). */
  factsFraction?: number;
  /** Chance, in [0, 1], that a training problem whose fact lies outside the `factsFraction` share is kept anyway
   * (default 0: never). Between 0 and 1 those facts are rare rather than absent: worked solutions that cover
   * some facts thinly, as real SFT sets cover their task distribution unevenly. */
  otherFactsRate?: number;
}

/** What a template draws: the numbers that define the problem, its text, answer and solution steps. */
interface Drawn {
  numbers: number[];
  question: string;
  answer: number;
  steps: string[];
}

interface Person {
  name: string;
  they: string;
  their: string;
}

const PEOPLE: readonly Person[] = [
  { name: "Ava", they: "She", their: "her" },
  { name: "Liam", they: "He", their: "his" },
  { name: "Mia", they: "She", their: "her" },
  { name: "Noah", they: "He", their: "his" },
  { name: "Priya", they: "She", their: "her" },
  { name: "Kenji", they: "He", their: "his" },
  { name: "Lena", they: "She", their: "her" },
  { name: "Mateo", they: "He", their: "his" },
  { name: "Sara", they: "She", their: "her" },
  { name: "Omar", they: "He", their: "his" },
];
const ITEMS: readonly string[] = ["apples", "marbles", "stickers", "pencils", "cookies", "books", "shells", "cards", "stamps", "beads"];
const THINGS_FOR_SALE: readonly string[] = ["notebooks", "pens", "mugs", "tickets", "plants", "toy cars"];

/** Ranges grow with the level: single digits at 0 (differences start from up to 14), small one-step sums at 1, two-digit numbers at 2, three-digit at
 * 3. */
const BIG: Record<Level, [number, number]> = { 0: [1, 9], 1: [2, 20], 2: [10, 99], 3: [100, 999] };
const FACTOR: Record<Level, [number, number]> = { 0: [2, 5], 1: [2, 9], 2: [3, 15], 3: [11, 40] };

interface Template {
  name: string;
  /** The lowest level the template is used at (level 0 aside). */
  minLevel: Level;
  /** Whether level 0 (sums of single digits and differences below 15, for models trained from scratch in minutes) uses it. */
  atLevel0?: boolean;
  draw(rng: Rng, level: Level): Drawn;
}

function between(rng: Rng, [lo, hi]: [number, number]): number {
  return rng.int(lo, hi);
}

const TEMPLATES: readonly Template[] = [
  {
    name: "sum",
    minLevel: 1,
    atLevel0: true,
    draw(rng, level) {
      const p = rng.pick(PEOPLE);
      const item = rng.pick(ITEMS);
      const a = between(rng, BIG[level]);
      const b = between(rng, BIG[level]);
      return {
        numbers: [a, b],
        question: `${p.name} has ${a} ${item}. ${p.they} gets ${b} more ${item}. How many ${item} does ${p.name} have now?`,
        answer: a + b,
        steps: [`${p.name} starts with ${a} ${item} and gets ${b} more.`, `${a} + ${b} = ${a + b}.`],
      };
    },
  },
  {
    name: "difference",
    minLevel: 1,
    atLevel0: true,
    draw(rng, level) {
      const p = rng.pick(PEOPLE);
      const item = rng.pick(ITEMS);
      const a = between(rng, BIG[level]) + 5;
      const b = rng.int(1, a - 1);
      return {
        numbers: [a, b],
        question: `${p.name} had ${a} ${item} and gave ${b} of them to a friend. How many ${item} does ${p.name} have left?`,
        answer: a - b,
        steps: [`${p.name} gives away ${b} of ${p.their} ${a} ${item}.`, `${a} - ${b} = ${a - b}.`],
      };
    },
  },
  {
    name: "product",
    minLevel: 1,
    draw(rng, level) {
      const p = rng.pick(PEOPLE);
      const item = rng.pick(ITEMS);
      const packs = between(rng, FACTOR[level]);
      const each = between(rng, FACTOR[level]);
      return {
        numbers: [packs, each],
        question: `${p.name} buys ${packs} bags of ${item}. Each bag holds ${each} ${item}. How many ${item} does ${p.name} buy in total?`,
        answer: packs * each,
        steps: [`There are ${packs} bags with ${each} ${item} each.`, `${packs} * ${each} = ${packs * each}.`],
      };
    },
  },
  {
    name: "division",
    minLevel: 2,
    draw(rng, level) {
      const p = rng.pick(PEOPLE);
      const item = rng.pick(ITEMS);
      const friends = between(rng, FACTOR[level]);
      const each = between(rng, FACTOR[level]);
      const total = friends * each;
      return {
        numbers: [total, friends],
        question: `${p.name} shares ${total} ${item} equally among ${friends} friends. How many ${item} does each friend get?`,
        answer: each,
        steps: [`${total} ${item} are split into ${friends} equal shares.`, `${total} / ${friends} = ${each}.`],
      };
    },
  },
  {
    name: "remainder",
    minLevel: 2,
    draw(rng, level) {
      const p = rng.pick(PEOPLE);
      const item = rng.pick(ITEMS);
      const box = between(rng, FACTOR[level]);
      const full = between(rng, FACTOR[level]);
      const left = rng.int(1, box - 1);
      const total = box * full + left;
      return {
        numbers: [total, box],
        question: `${p.name} packs ${total} ${item} into boxes of ${box}, filling as many boxes as possible. How many ${item} are left over?`,
        answer: left,
        steps: [
          `${full} full boxes hold ${full} * ${box} = ${full * box} ${item}; one more box would need ${(full + 1) * box}, more than ${total}.`,
          `${total} - ${full * box} = ${left}.`,
        ],
      };
    },
  },
  {
    name: "change",
    minLevel: 2,
    draw(rng, level) {
      const p = rng.pick(PEOPLE);
      const thing = rng.pick(THINGS_FOR_SALE);
      const count = between(rng, FACTOR[level]);
      const price = between(rng, FACTOR[level]);
      const cost = count * price;
      const bill = [10, 20, 50, 100, 200, 500, 1000, 2000].find((b) => b > cost) ?? Math.ceil((cost + 1) / 1000) * 1000;
      return {
        numbers: [count, price, bill],
        question: `${p.name} buys ${count} ${thing} at $${price} each and pays with $${bill}. How many dollars of change does ${p.name} get?`,
        answer: bill - cost,
        steps: [`The ${thing} cost ${count} * ${price} = ${cost} dollars.`, `The change is ${bill} - ${cost} = ${bill - cost} dollars.`],
      };
    },
  },
  {
    name: "rows-plus",
    minLevel: 2,
    draw(rng, level) {
      const p = rng.pick(PEOPLE);
      const item = rng.pick(ITEMS);
      const rows = between(rng, FACTOR[level]);
      const each = between(rng, FACTOR[level]);
      const extra = between(rng, BIG[level]);
      const placed = rows * each;
      return {
        numbers: [rows, each, extra],
        question: `A shop has ${rows} shelves with ${each} ${item} on each shelf. ${p.name} brings ${extra} more ${item}. How many ${item} does the shop have now?`,
        answer: placed + extra,
        steps: [`The shelves hold ${rows} * ${each} = ${placed} ${item}.`, `${placed} + ${extra} = ${placed + extra}.`],
      };
    },
  },
  {
    name: "percent-off",
    minLevel: 2,
    draw(rng, level) {
      const thing = rng.pick(THINGS_FOR_SALE);
      const percent = rng.pick([10, 20, 25, 50]);
      // A multiple of 20 keeps every listed percentage an integer number of dollars.
      const price = 20 * between(rng, FACTOR[level]);
      const discount = (price * percent) / 100;
      return {
        numbers: [price, percent],
        question: `A pack of ${thing} costs $${price}. The shop takes ${percent}% off. What is the new price in dollars?`,
        answer: price - discount,
        steps: [`${percent}% of ${price} is ${price} * ${percent} / 100 = ${discount}.`, `${price} - ${discount} = ${price - discount}.`],
      };
    },
  },
  {
    name: "average",
    minLevel: 3,
    draw(rng) {
      const p = rng.pick(PEOPLE);
      const scores = [between(rng, BIG[2]), between(rng, BIG[2]), between(rng, BIG[2])];
      // Nudge the last score so the mean is an integer.
      scores[2] = scores[2]! + ((3 - ((scores[0]! + scores[1]! + scores[2]!) % 3)) % 3);
      const sum = scores[0]! + scores[1]! + scores[2]!;
      return {
        numbers: scores,
        question: `${p.name} scored ${scores[0]}, ${scores[1]} and ${scores[2]} points in three games. What is ${p.their} average score per game?`,
        answer: sum / 3,
        steps: [`The total is ${scores[0]} + ${scores[1]} + ${scores[2]} = ${sum}.`, `${sum} / 3 = ${sum / 3}.`],
      };
    },
  },
  {
    name: "chain",
    minLevel: 3,
    draw(rng, level) {
      const p = rng.pick(PEOPLE);
      const item = rng.pick(ITEMS);
      const start = between(rng, BIG[level === 3 ? 2 : 1]);
      const factor = rng.int(2, 4);
      const grown = start * factor;
      const given = rng.int(1, grown - 1);
      const found = between(rng, BIG[2]);
      const left = grown - given;
      return {
        numbers: [start, factor, given, found],
        question: `${p.name} starts with ${start} ${item}. ${p.they} ends up with ${factor} times as many, then gives away ${given} and later finds ${found} more. How many ${item} does ${p.name} have at the end?`,
        answer: left + found,
        steps: [`${start} * ${factor} = ${grown}.`, `${grown} - ${given} = ${left}.`, `${left} + ${found} = ${left + found}.`],
      };
    },
  },
];

const LEVEL_TEMPLATES: Record<Level, readonly Template[]> = {
  0: TEMPLATES.filter((t) => t.atLevel0 === true),
  1: TEMPLATES.filter((t) => t.minLevel <= 1),
  2: TEMPLATES.filter((t) => t.minLevel <= 2),
  3: TEMPLATES,
};

/** Template names, for configs and reports. */
export const TEMPLATE_NAMES: readonly string[] = TEMPLATES.map((t) => t.name);

/** The split a problem belongs to, from its content alone: a fixed partition of all problems. With `by` "text" the
 * whole question decides (`question` is then required). */
/** Whether a problem's arithmetic fact is among the first `factsFraction` of all facts (TaskOptions.factsFraction). */
export function inFactsShare(template: string, numbers: readonly number[], factsFraction: number): boolean {
  return factsFraction >= 1 || hashString(`${template}|facts|${numbers.join(",")}`) / 2 ** 32 < factsFraction;
}

export function splitOf(template: string, numbers: readonly number[], heldOutFraction: number, by: HeldOutBy = "numbers", question?: string): Split {
  if (by === "text" && question === undefined) throw new TypeError("splitOf: a split by text needs the question");
  const key = by === "text" ? `${template}|text|${question}` : `${template}|${numbers.join(",")}`;
  return hashString(key) / 2 ** 32 < heldOutFraction ? "heldout" : "train";
}

/** Domain-separation tags so the two splits draw from independent streams even with one seed. */
const SPLIT_TAG: Record<Split, number> = { train: 0x7a11, heldout: 0x4e1d };
const MAX_ATTEMPTS = 100_000;

function checkOptions(options: TaskOptions): Required<TaskOptions> {
  const { seed, split, size } = options;
  const levels = options.levels ?? [1, 2, 3];
  const heldOutFraction = options.heldOutFraction ?? 0.1;
  const heldOutBy = options.heldOutBy ?? "numbers";
  const factsFraction = options.factsFraction ?? 1;
  const otherFactsRate = options.otherFactsRate ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`tasks: seed must be a non-negative integer, got ${seed}`);
  if (split !== "train" && split !== "heldout") throw new RangeError(`tasks: split must be "train" or "heldout", got ${String(split)}`);
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`tasks: size must be a non-negative integer, got ${size}`);
  if (levels.length === 0 || levels.some((l) => l !== 0 && l !== 1 && l !== 2 && l !== 3)) throw new RangeError(`tasks: levels must be a non-empty list of 0, 1, 2, 3; got [${levels.join(", ")}]`);
  if (!(heldOutFraction > 0 && heldOutFraction < 1)) throw new RangeError(`tasks: heldOutFraction must be in (0, 1), got ${heldOutFraction}`);
  if (!HELD_OUT_BY.includes(heldOutBy)) throw new RangeError(`tasks: heldOutBy must be "numbers" or "text", got ${String(heldOutBy)}`);
  if (!(factsFraction > 0 && factsFraction <= 1)) throw new RangeError(`tasks: factsFraction must be in (0, 1], got ${factsFraction}`);
  if (!(otherFactsRate >= 0 && otherFactsRate <= 1)) throw new RangeError(`tasks: otherFactsRate must be in [0, 1], got ${otherFactsRate}`);
  return { seed, split, size, levels, heldOutFraction, heldOutBy, factsFraction, otherFactsRate };
}

/** The task at `index` of the split described by `options` (random access; independent of `options.size`). */
export function taskAt(options: TaskOptions, index: number): Example {
  const o = checkOptions(options);
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`tasks: index must be a non-negative integer, got ${index}`);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const rng = new Rng(o.seed, SPLIT_TAG[o.split], index, attempt);
    const level = rng.pick(o.levels);
    const template = rng.pick(LEVEL_TEMPLATES[level]);
    const drawn = template.draw(rng, level);
    if (splitOf(template.name, drawn.numbers, o.heldOutFraction, o.heldOutBy, drawn.question) !== o.split) continue;
    if (o.split === "train" && !inFactsShare(template.name, drawn.numbers, o.factsFraction)) {
      // Kept at otherFactsRate: the coin comes from this attempt's own stream, so the set stays seeded.
      if (!(o.otherFactsRate > 0 && rng.nextU32() / 2 ** 32 < o.otherFactsRate)) continue;
    }
    if (!Number.isSafeInteger(drawn.answer) || drawn.answer < 0) throw new Error(`tasks: template ${template.name} drew a non-integer answer ${drawn.answer}`);
    return {
      id: `builtin:${o.split}:${o.seed}:${index}`,
      question: drawn.question,
      answer: String(drawn.answer),
      reasoning: drawn.steps.join("\n"),
      template: template.name,
      level,
    };
  }
  throw new Error(`tasks: no ${o.split} problem found after ${MAX_ATTEMPTS} draws (heldOutFraction ${o.heldOutFraction})`);
}

/** A lazily generated task set of any size. */
export function builtinTasks(options: TaskOptions): Dataset<Example> {
  const o = checkOptions(options);
  return {
    size: o.size,
    get(index: number): Example {
      if (!Number.isInteger(index) || index < 0 || index >= o.size) throw new RangeError(`tasks: index ${index} outside [0, ${o.size})`);
      return taskAt(o, index);
    },
  };
}

/** The first `size` tasks as an array. */
export function generateTasks(options: TaskOptions): Example[] {
  const set = builtinTasks(options);
  return Array.from({ length: set.size }, (_, i) => set.get(i));
}
