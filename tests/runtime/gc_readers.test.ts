// An eager intermediate that the program drops becomes collectable as soon as the computations reading it are
// dispatched, which may be long before they run (here: the reader also waits for a slow matmul chain). The
// collector must not free the intermediate's memory before those readers ran; it did, and the reader failed with
// "execute argument 0: buffer f32[...] was disposed".
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { type ArrayBase, type DeviceArray, lax, liveBuffers, np } from "../../src/index.js";

setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;


describe("arrays dropped while a pending computation reads them", () => {
  it("keep their memory until the reader ran", async () => {
    const n = 512;
    const base = np.array(new Float32Array(n * n).fill(0.5), { device: "cpu", shape: [n, n] });
    let intermediate: ArrayBase | undefined = lax.add(base, base);
    await (intermediate as DeviceArray).ready();
    const chain: ArrayBase[] = [];
    let slow: ArrayBase = base;
    for (let k = 0; k < 3; k++) chain.push((slow = np.matmul(slow, base)));
    const reader = lax.add(intermediate, slow);
    // The intermediate is now referenced only by the pending reader.
    intermediate = undefined;
    for (let k = 0; k < 3; k++) {
      collect();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const values = await (reader as DeviceArray).data();
    // The intermediate is 1 everywhere; each product with a matrix of 0.5s multiplies the entries by 0.5 n.
    expect(values[7]).toBe(1 + 0.5 * (0.5 * n) ** 3);
    // Everything but the dropped intermediate is freed here; the collector must then have freed that one too
    // (its finalizer frees once the reader ran), so nothing is left for the file's leak check.
    for (const a of [base, ...chain, reader]) (a as DeviceArray).dispose();
    for (let k = 0; k < 50 && liveBuffers() > 0; k++) {
      collect();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(liveBuffers()).toBe(0);
  });
});
