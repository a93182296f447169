// Walks a dataset epoch after epoch in a seeded order, with a position a checkpoint can store and restore:
// (epoch, index within the epoch, shuffle seed). The order of epoch e is a pure function of (shuffleSeed, e), so a
// restored iterator continues exactly where the saved one was.
import type { Dataset } from "./example.js";
import { permutation } from "./prng.js";

export interface DataPosition {
  epoch: number;
  /** The next item's place in this epoch's order. */
  index: number;
  shuffleSeed: number;
  shuffle: boolean;
  /** The dataset size the position refers to; restoring onto a dataset of another size is an error. */
  size: number;
}

export interface IteratorOptions {
  shuffleSeed: number;
  /** Default true. */
  shuffle?: boolean;
  /** Resume from a saved position. */
  position?: DataPosition;
}

const EPOCH_TAG = 0xe90c;

export class DataIterator<T> {
  private epoch = 0;
  private index = 0;
  private readonly shuffleSeed: number;
  private readonly shuffle: boolean;
  private order: Uint32Array | undefined;

  constructor(
    private readonly dataset: Dataset<T>,
    options: IteratorOptions,
  ) {
    if (dataset.size <= 0) throw new RangeError("DataIterator: the dataset is empty");
    const saved = options.position;
    this.shuffleSeed = saved?.shuffleSeed ?? options.shuffleSeed;
    this.shuffle = saved?.shuffle ?? options.shuffle ?? true;
    if (!Number.isSafeInteger(this.shuffleSeed) || this.shuffleSeed < 0) throw new RangeError(`DataIterator: shuffleSeed must be a non-negative integer, got ${this.shuffleSeed}`);
    if (saved) {
      if (saved.size !== dataset.size) throw new RangeError(`DataIterator: the saved position is for a dataset of ${saved.size} items, this one has ${dataset.size}`);
      if (!Number.isSafeInteger(saved.epoch) || saved.epoch < 0 || !Number.isSafeInteger(saved.index) || saved.index < 0 || saved.index > dataset.size) {
        throw new RangeError(`DataIterator: invalid saved position epoch ${saved.epoch} index ${saved.index}`);
      }
      this.epoch = saved.epoch;
      this.index = saved.index;
    }
  }

  get position(): DataPosition {
    return { epoch: this.epoch, index: this.index, shuffleSeed: this.shuffleSeed, shuffle: this.shuffle, size: this.dataset.size };
  }

  private itemIndex(): number {
    if (!this.shuffle) return this.index;
    this.order ??= permutation(this.dataset.size, this.shuffleSeed, EPOCH_TAG, this.epoch);
    return this.order[this.index]!;
  }

  next(): T {
    if (this.index >= this.dataset.size) {
      this.epoch++;
      this.index = 0;
      this.order = undefined;
    }
    const item = this.dataset.get(this.itemIndex());
    this.index++;
    return item;
  }

  /** The next `count` items (crossing epoch boundaries as needed). */
  take(count: number): T[] {
    return Array.from({ length: count }, () => this.next());
  }
}
