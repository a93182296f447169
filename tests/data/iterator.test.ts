import { describe, expect, it } from "vitest";
import { arrayDataset } from "../../src/data/example.js";
import { DataIterator } from "../../src/data/iterator.js";

const items = Array.from({ length: 10 }, (_, i) => i);

describe("DataIterator", () => {
  it("visits every item once per epoch, in a new order each epoch", () => {
    const it = new DataIterator(arrayDataset(items), { shuffleSeed: 3 });
    const first = it.take(10);
    const second = it.take(10);
    expect([...first].sort((a, b) => a - b)).toEqual(items);
    expect([...second].sort((a, b) => a - b)).toEqual(items);
    expect(first).not.toEqual(second);
    expect(first).not.toEqual(items);
    expect(it.position).toEqual({ epoch: 1, index: 10, shuffleSeed: 3, shuffle: true, size: 10 });
  });

  it("keeps file order without shuffling", () => {
    const it = new DataIterator(arrayDataset(items), { shuffleSeed: 0, shuffle: false });
    expect(it.take(13)).toEqual([...items, 0, 1, 2]);
  });

  it("restores a saved position exactly, at any point including epoch ends", () => {
    for (const stop of [0, 1, 9, 10, 11, 27]) {
      const uninterrupted = new DataIterator(arrayDataset(items), { shuffleSeed: 11 });
      uninterrupted.take(stop);
      const saved = JSON.parse(JSON.stringify(uninterrupted.position));
      const expected = uninterrupted.take(25);
      const resumed = new DataIterator(arrayDataset(items), { shuffleSeed: 999, position: saved });
      expect(resumed.take(25), `stop ${stop}`).toEqual(expected);
    }
  });

  it("rejects a position saved for another dataset and an empty dataset", () => {
    const position = new DataIterator(arrayDataset(items), { shuffleSeed: 1 }).position;
    expect(() => new DataIterator(arrayDataset([1, 2]), { shuffleSeed: 1, position })).toThrow(/dataset of 10 items, this one has 2/);
    expect(() => new DataIterator(arrayDataset([]), { shuffleSeed: 1 })).toThrow(/empty/);
    expect(() => new DataIterator(arrayDataset(items), { shuffleSeed: 1, position: { ...position, index: 11 } })).toThrow(/invalid saved position/);
  });
});
