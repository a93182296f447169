// Completion masks: which completion tokens the loss trains on. A completion ends at its first EOS token
// (whatever the sampler wrote after it is padding or overrun).
//   trainOnEos false (Tunix): positions before the first EOS.   true (TRL): the first EOS too.
//   maskTruncated (TRL mask_truncated_completions): rows that never emitted EOS get an all-zero mask.
import type { ArrayBase } from "../core/array_base.js";
import { ShapeError } from "../core/errors.js";
import * as np from "../lib/np.js";
import * as lax from "../ops/index.js";

export interface CompletionMaskOptions {
  /** Token ids that end a completion (Gemma: <eos> 1 and <end_of_turn> 106). At least one. */
  eosIds: readonly number[];
  /** Train on the first EOS token (default false, as Tunix). */
  trainOnEos?: boolean;
  /** Zero the whole row of a completion that never emitted EOS (default false). */
  maskTruncated?: boolean;
}

function checkCompletions(completions: ArrayBase, options: CompletionMaskOptions, where: string): void {
  if (completions.ndim !== 2 || completions.dtype !== "i32") throw new ShapeError(`${where}: completions must be i32 [S, T], got ${completions.aval}`);
  if (!Array.isArray(options.eosIds) || options.eosIds.length === 0) throw new RangeError(`${where}: eosIds must list at least one token id`);
  for (const id of options.eosIds) {
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`${where}: eosIds must be non-negative integers, got ${id}`);
  }
}

interface FirstEos {
  /** [S, 1] i32: index of the first EOS, or T when there is none. */
  index: ArrayBase;
  /** [S] bool: the row contains an EOS. */
  terminated: ArrayBase;
}

function firstEos(completions: ArrayBase, eosIds: readonly number[]): FirstEos {
  const T = completions.shape[1]!;
  let isEos = np.equal(completions, eosIds[0]!); //                          [S, T] bool
  for (const id of eosIds.slice(1)) isEos = np.bitwiseOr(isEos, np.equal(completions, id));
  const terminated = np.any(isEos, { axis: 1 }); //                         [S]
  const first = np.argmax(np.astype(isEos, "i32"), 1); //                   [S], the first maximum
  const index = np.where(terminated, first, T); //                           [S]
  return { index: np.expandDims(index, 1), terminated };
}

/** The f32 [S, T] training mask of right-padded completions [S, T] (i32 token ids). */
export function completionMask(completions: ArrayBase, options: CompletionMaskOptions): ArrayBase {
  checkCompletions(completions, options, "completionMask");
  const [S, T] = completions.shape as [number, number];
  const { index, terminated } = firstEos(completions, options.eosIds);
  const positions = lax.iota("i32", [S, T], 1); //                           [S, T]
  let keep = options.trainOnEos ? np.lessEqual(positions, index) : np.less(positions, index);
  if (options.maskTruncated) keep = np.bitwiseAnd(keep, np.expandDims(terminated, 1));
  return np.astype(keep, "f32");
}

/** [S] bool: which completions emitted an EOS (for the terminated-fraction metric). */
export function completionTerminated(completions: ArrayBase, options: Pick<CompletionMaskOptions, "eosIds">): ArrayBase {
  checkCompletions(completions, options, "completionTerminated");
  return firstEos(completions, options.eosIds).terminated;
}

/** [S] i32: completion lengths as the mask counts them (first EOS excluded), for length metrics. */
export function completionLengths(completions: ArrayBase, options: Pick<CompletionMaskOptions, "eosIds">): ArrayBase {
  checkCompletions(completions, options, "completionLengths");
  return np.squeeze(firstEos(completions, options.eosIds).index, 1);
}
