// Rewards on decoded text for the `<reasoning>...</reasoning><answer>...</answer>` format. Each reward function
// scores one completion; a combiner applies weights, sums them into the reward of each completion and reports
// per-function metrics (watching each function separately is how format-reward hacking shows up: the format
// score rises while correctness stalls). Built-in functions never throw and always return finite numbers; a
// user function that throws or returns a non-finite number scores 0 and is counted in `errors`.
// Parsing is by indexOf scans, linear in the text, so no input can make a regex backtrack for long.

export interface RewardSample {
  prompt: string;
  completion: string;
  /** The reference answer, when the task has one. */
  answer?: string;
}

export interface RewardFunction {
  /** A unique name, used for metrics (`rewards/<name>/mean`). */
  readonly name: string;
  score(sample: RewardSample): number;
}

export const REASONING_START = "<reasoning>";
export const REASONING_END = "</reasoning>";
export const ANSWER_START = "<answer>";
export const ANSWER_END = "</answer>";

const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v";

/** The parts of a completion in the exact format: optional whitespace, `<reasoning>` + at least one character +
 * `</reasoning>` (the first one), anything, `<answer>` (the first one after), at least one character, then
 * `</answer>` and only whitespace to the end. undefined when the completion is not in that form. */
export function parseExactFormat(text: string): { reasoning: string; answer: string } | undefined {
  const s = typeof text === "string" ? text : "";
  let start = 0;
  while (start < s.length && isSpace(s[start]!)) start++;
  let end = s.length;
  while (end > start && isSpace(s[end - 1]!)) end--;
  if (!s.startsWith(REASONING_START, start)) return undefined;
  const reasoningFrom = start + REASONING_START.length;
  const reasoningTo = s.indexOf(REASONING_END, reasoningFrom + 1);
  if (reasoningTo < 0) return undefined;
  const answerTag = s.indexOf(ANSWER_START, reasoningTo + REASONING_END.length);
  if (answerTag < 0) return undefined;
  const answerFrom = answerTag + ANSWER_START.length;
  const answerTo = end - ANSWER_END.length;
  if (answerTo < answerFrom + 1 || !s.startsWith(ANSWER_END, answerTo)) return undefined;
  return { reasoning: s.slice(reasoningFrom, reasoningTo), answer: s.slice(answerFrom, answerTo) };
}

/** Text between the first `open` tag and the next `close` tag after it (undefined when either is missing). */
export function between(text: string, open: string, close: string): string | undefined {
  const s = typeof text === "string" ? text : "";
  const from = s.indexOf(open);
  if (from < 0) return undefined;
  const to = s.indexOf(close, from + open.length);
  return to < 0 ? undefined : s.slice(from + open.length, to);
}

/** A number written as an answer: optional sign, digits with optional thousands commas, decimals, exponent; a
 * leading `$` and a trailing `%` or `.` are ignored. undefined for anything else (including "", "1/2", "NaN"). */
export function parseNumber(text: string): number | undefined {
  if (typeof text !== "string" || text.length > 64) return undefined;
  let t = text.trim();
  if (t.startsWith("$")) t = t.slice(1);
  else if (t.startsWith("-$") || t.startsWith("+$")) t = t[0] + t.slice(2);
  if (t.endsWith("%")) t = t.slice(0, -1);
  if (t.endsWith(".") && t.length > 1) t = t.slice(0, -1);
  if (!/^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$/.test(t) || !/\d/.test(t.split(/[eE]/)[0]!)) return undefined;
  const value = Number(t.replace(/,/g, ""));
  return Number.isFinite(value) ? value : undefined;
}

function numbersClose(a: number, b: number, relativeTolerance: number): boolean {
  return Math.abs(a - b) <= relativeTolerance * Math.max(1, Math.abs(b));
}

// --- built-in reward functions -------------------------------------------------------------------------------

export interface ExactFormatOptions {
  /** Score when the completion is exactly in the format (default 3). */
  reward?: number;
}

/** +3 when the whole completion is `<reasoning>...</reasoning> ... <answer>...</answer>`, else 0. */
export function exactFormat(options: ExactFormatOptions = {}): RewardFunction {
  const reward = checkedNumber(options.reward ?? 3, "exactFormat.reward");
  return { name: "exact_format", score: (s) => (parseExactFormat(s.completion) === undefined ? 0 : reward) };
}

export interface ApproximateFormatOptions {
  /** Per tag: +perTag when it appears exactly once, -perTag otherwise (default 0.5). */
  perTag?: number;
}

function countOccurrences(text: string, tag: string): number {
  let count = 0;
  for (let i = text.indexOf(tag); i >= 0; i = text.indexOf(tag, i + tag.length)) count++;
  return count;
}

/** +-0.5 for each of the four tags by whether it appears exactly once: from -2 to +2. */
export function approximateFormat(options: ApproximateFormatOptions = {}): RewardFunction {
  const perTag = checkedNumber(options.perTag ?? 0.5, "approximateFormat.perTag");
  return {
    name: "approximate_format",
    score: (s) => {
      const text = typeof s.completion === "string" ? s.completion : "";
      return [REASONING_START, REASONING_END, ANSWER_START, ANSWER_END].reduce((sum, tag) => sum + (countOccurrences(text, tag) === 1 ? perTag : -perTag), 0);
    },
  };
}

export interface AnswerCorrectnessOptions {
  /** Exact match, or numerically equal within `tolerance` (default 3). */
  correct?: number;
  /** Equal after trimming whitespace (non-numeric answers; default 1.5). */
  trimmed?: number;
  /** Numeric, guess / truth within [0.9, 1.1] (default 0.5). */
  close?: number;
  /** Numeric, guess / truth within [0.8, 1.2] (default 0.25). */
  near?: number;
  /** Numeric and wrong, or a wrong non-numeric answer (default -1). */
  wrong?: number;
  /** The reference is numeric but the guess does not parse as a number (default -0.5). */
  unparseable?: number;
  /** Relative tolerance for numeric equality: |g - t| <= tolerance * max(1, |t|) (default 1e-6). */
  tolerance?: number;
}

/** Scores the `<answer>` against the reference answer (0 when there is no answer tag or no reference). */
export function answerCorrectness(options: AnswerCorrectnessOptions = {}): RewardFunction {
  const correct = checkedNumber(options.correct ?? 3, "answerCorrectness.correct");
  const trimmed = checkedNumber(options.trimmed ?? 1.5, "answerCorrectness.trimmed");
  const close = checkedNumber(options.close ?? 0.5, "answerCorrectness.close");
  const near = checkedNumber(options.near ?? 0.25, "answerCorrectness.near");
  const wrong = checkedNumber(options.wrong ?? -1, "answerCorrectness.wrong");
  const unparseable = checkedNumber(options.unparseable ?? -0.5, "answerCorrectness.unparseable");
  const tolerance = checkedNumber(options.tolerance ?? 1e-6, "answerCorrectness.tolerance");
  return {
    name: "answer_correctness",
    score: (s) => {
      const guess = extractAnswer(s.completion);
      const truth = s.answer;
      if (guess === undefined || typeof truth !== "string") return 0;
      if (guess === truth) return correct;
      const t = parseNumber(truth);
      const g = parseNumber(guess);
      if (t !== undefined && g !== undefined && numbersClose(g, t, tolerance)) return correct;
      if (guess.trim() === truth.trim()) return trimmed;
      if (t === undefined) return wrong;
      if (g === undefined) return unparseable;
      const ratio = g / t; // t = 0 gives +-inf (or NaN for 0/0, already caught as equal above)
      if (ratio >= 0.9 && ratio <= 1.1) return close;
      if (ratio >= 0.8 && ratio <= 1.2) return near;
      return wrong;
    },
  };
}

/** The answer of a completion: from the exact format when it matches, else the first `<answer>...</answer>`. */
export function extractAnswer(completion: string): string | undefined {
  return parseExactFormat(completion)?.answer ?? between(completion, ANSWER_START, ANSWER_END);
}

export interface NumberMatchOptions {
  /** Score when the first number after `<answer>` equals the reference (default 1.5). */
  reward?: number;
  tolerance?: number;
}

/** The first number after `<answer>` (within 4096 characters): optional minus, digits with optional thousands
 * commas and decimals. */
export function firstNumberAfterAnswerTag(completion: string): number | undefined {
  const s = typeof completion === "string" ? completion : "";
  const from = s.indexOf(ANSWER_START);
  if (from < 0) return undefined;
  const match = /-?\d+(,\d{3})*(\.\d+)?/.exec(s.slice(from + ANSWER_START.length, from + ANSWER_START.length + 4096));
  return match === null ? undefined : parseNumber(match[0]);
}

/** +1.5 when the first number after `<answer>` equals the numeric reference, else 0. */
export function numberMatch(options: NumberMatchOptions = {}): RewardFunction {
  const reward = checkedNumber(options.reward ?? 1.5, "numberMatch.reward");
  const tolerance = checkedNumber(options.tolerance ?? 1e-6, "numberMatch.tolerance");
  return {
    name: "number_match",
    score: (s) => {
      const t = typeof s.answer === "string" ? parseNumber(s.answer) : undefined;
      const g = firstNumberAfterAnswerTag(s.completion);
      return t !== undefined && g !== undefined && numbersClose(g, t, tolerance) ? reward : 0;
    },
  };
}

/** The reasoning section: from the exact format, else between the first reasoning tags. */
export function extractReasoning(completion: string): string | undefined {
  return parseExactFormat(completion)?.reasoning ?? between(completion, REASONING_START, REASONING_END);
}

function words(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

export interface ReasoningLengthOptions {
  /** Words of reasoning that earn the full score (default 40). */
  targetWords?: number;
  /** Full score (default 1). */
  maxScore?: number;
}

/** Up to +1, linear in the number of reasoning words until targetWords; 0 without a reasoning section. */
export function reasoningLength(options: ReasoningLengthOptions = {}): RewardFunction {
  const target = checkedNumber(options.targetWords ?? 40, "reasoningLength.targetWords");
  if (target <= 0) throw new RangeError(`reasoningLength: targetWords must be positive, got ${target}`);
  const maxScore = checkedNumber(options.maxScore ?? 1, "reasoningLength.maxScore");
  return {
    name: "reasoning_length",
    score: (s) => {
      const reasoning = extractReasoning(s.completion);
      return reasoning === undefined ? 0 : (maxScore * Math.min(words(reasoning).length, target)) / target;
    },
  };
}

export const DEFAULT_REASONING_KEYWORDS: readonly string[] = ["because", "so", "therefore", "first", "then", "total", "each", "=", "step"];

export interface ReasoningKeywordsOptions {
  keywords?: readonly string[];
  /** Per distinct keyword present (default 0.25). */
  perKeyword?: number;
  /** Cap (default 1). */
  maxScore?: number;
}

/** Up to +1: perKeyword for each distinct keyword among the reasoning's words (case-insensitive; "=" and other
 * symbols count wherever they occur). 0 without a reasoning section. */
export function reasoningKeywords(options: ReasoningKeywordsOptions = {}): RewardFunction {
  const keywords = (options.keywords ?? DEFAULT_REASONING_KEYWORDS).map((k) => String(k).toLowerCase());
  const perKeyword = checkedNumber(options.perKeyword ?? 0.25, "reasoningKeywords.perKeyword");
  const maxScore = checkedNumber(options.maxScore ?? 1, "reasoningKeywords.maxScore");
  return {
    name: "reasoning_keywords",
    score: (s) => {
      const reasoning = extractReasoning(s.completion);
      if (reasoning === undefined) return 0;
      const lower = reasoning.toLowerCase();
      const wordSet = new Set(lower.split(/[^a-z0-9']+/).filter((w) => w.length > 0));
      const found = keywords.filter((k) => (/^[a-z0-9']+$/.test(k) ? wordSet.has(k) : lower.includes(k))).length;
      return Math.min(maxScore, found * perKeyword);
    },
  };
}

function checkedNumber(value: number, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new RangeError(`${where} must be a finite number, got ${String(value)}`);
  return value;
}

// --- registry and combiner -----------------------------------------------------------------------------------

/** Builds a reward function from its options object (as read from a config file). */
export type RewardFactory = (options: Record<string, unknown>) => RewardFunction;

export class RewardRegistry {
  private readonly factories = new Map<string, RewardFactory>();

  register(name: string, factory: RewardFactory): this {
    if (this.factories.has(name)) throw new Error(`rewards: '${name}' is already registered`);
    this.factories.set(name, factory);
    return this;
  }

  names(): string[] {
    return [...this.factories.keys()];
  }

  create(name: string, options: Record<string, unknown> = {}): RewardFunction {
    const factory = this.factories.get(name);
    if (factory === undefined) throw new RangeError(`rewards: unknown reward '${name}'; known: ${this.names().join(", ")}`);
    return factory(options);
  }
}

/** A registry with the built-in reward functions under their metric names. */
export function builtinRewards(): RewardRegistry {
  return new RewardRegistry()
    .register("exact_format", (o) => exactFormat(o as ExactFormatOptions))
    .register("approximate_format", (o) => approximateFormat(o as ApproximateFormatOptions))
    .register("answer_correctness", (o) => answerCorrectness(o as AnswerCorrectnessOptions))
    .register("number_match", (o) => numberMatch(o as NumberMatchOptions))
    .register("reasoning_length", (o) => reasoningLength(o as ReasoningLengthOptions))
    .register("reasoning_keywords", (o) => reasoningKeywords(o as ReasoningKeywordsOptions));
}

export interface WeightedReward {
  fn: RewardFunction;
  /** Multiplies the function's score in the total (default 1). */
  weight?: number;
}

export interface RewardBatch {
  /** Weighted sum per completion. */
  total: number[];
  /** Unweighted score per function per completion. */
  perFunction: Record<string, number[]>;
  /** reward/{mean,std,min,max}, rewards/<name>/{mean,std} (unweighted), rewards/<name>/errors. std has ddof 1. */
  metrics: Record<string, number>;
}

function meanOf(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function stdOf(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = meanOf(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Combines weighted reward functions; `score` rates a batch of samples. */
export class RewardCombiner {
  readonly functions: readonly { fn: RewardFunction; weight: number }[];

  constructor(functions: readonly WeightedReward[]) {
    if (functions.length === 0) throw new RangeError("rewards: at least one reward function is needed");
    const names = new Set<string>();
    this.functions = functions.map(({ fn, weight }) => {
      if (typeof fn?.score !== "function" || typeof fn.name !== "string" || fn.name.length === 0) {
        throw new TypeError("rewards: each reward function needs a non-empty name and a score(sample) method");
      }
      if (names.has(fn.name)) throw new RangeError(`rewards: two reward functions are named '${fn.name}'`);
      names.add(fn.name);
      return { fn, weight: checkedNumber(weight ?? 1, `rewards: weight of '${fn.name}'`) };
    });
  }

  score(samples: readonly RewardSample[]): RewardBatch {
    const total = new Array<number>(samples.length).fill(0);
    const perFunction: Record<string, number[]> = {};
    const metrics: Record<string, number> = {};
    for (const { fn, weight } of this.functions) {
      let errors = 0;
      const scores = samples.map((sample, i) => {
        let value: number;
        try {
          value = fn.score(sample);
        } catch {
          value = Number.NaN;
        }
        if (typeof value !== "number" || !Number.isFinite(value)) {
          errors++;
          value = 0;
        }
        total[i]! += weight * value;
        return value;
      });
      perFunction[fn.name] = scores;
      metrics[`rewards/${fn.name}/mean`] = meanOf(scores);
      metrics[`rewards/${fn.name}/std`] = stdOf(scores);
      metrics[`rewards/${fn.name}/errors`] = errors;
    }
    metrics["reward/mean"] = meanOf(total);
    metrics["reward/std"] = stdOf(total);
    metrics["reward/min"] = total.length === 0 ? 0 : total.reduce((a, b) => Math.min(a, b));
    metrics["reward/max"] = total.length === 0 ? 0 : total.reduce((a, b) => Math.max(a, b));
    return { total, perFunction, metrics };
  }
}

/** The seeds' reward set with unit weights: exact format, approximate format, answer correctness, number match,
 * reasoning length and reasoning keywords. */
export function defaultRewards(): RewardCombiner {
  return new RewardCombiner([exactFormat(), approximateFormat(), answerCorrectness(), numberMatch(), reasoningLength(), reasoningKeywords()].map((fn) => ({ fn })));
}
