// optim: AdamW, the warmup-cosine schedule and global-norm clipping against arithmetic written out by hand, and a
// whole train step (loss, grad, clip, AdamW, apply) under jit on a tiny MLP, on every device (issue 6.10).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ArrayBase, type DeviceArray, jit, nn, np, optim, random, setDefaultDevice, tidy, valueAndGrad } from "../../src/index.js";
import { disposeTree, readHost, readTidy } from "../helpers/arrays.js";

// Results are built inside tidy (which frees every intermediate) and disposed with disposeTree when the test is
// done with them, so no array outlives its test on either device.
const read = async (x: ArrayBase): Promise<number[]> => (await readHost(x)).data;
const readT = async (fn: () => ArrayBase): Promise<number[]> => (await readTidy(fn)).data;

// Every test on every device: eager operations run on the default device, jit follows its arguments.
describe.each(["reference", "cpu"] as const)("on %s", (device) => {
  beforeAll(() => setDefaultDevice(device));
  afterAll(() => setDefaultDevice("reference"));

  describe("adamw", () => {
    it("follows the AdamW arithmetic for two steps", async () => {
      // lr 0.1, b1 0.9, b2 0.999, eps 1e-8, weight decay 0.01; parameters p = [1, -2].
      const opt = optim.adamw({ lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8, weightDecay: 0.01 });
      const params0 = { p: np.array([1, -2]) };
      const state0 = tidy(() => opt.init(params0));
      expect(await read(state0.count)).toEqual([0]);

      // Step 1, g = [0.5, -1]:
      //   m = 0.1 g = [0.05, -0.1];  v = 0.001 g^2 = [0.00025, 0.001]
      //   mhat = m / (1 - 0.9) = [0.5, -1];  vhat = v / (1 - 0.999) = [0.25, 1]
      //   adam = mhat / (sqrt(vhat) + eps) = [0.5 / 0.50000001, -1 / 1.00000001]
      //   update = -0.1 (adam + 0.01 p) = [-0.1 (0.99999998 + 0.01), -0.1 (-0.99999999 - 0.02)]
      const step1 = tidy(() => opt.update({ p: np.array([0.5, -1]) }, state0, params0));
      const adam1 = [0.5 / (0.5 + 1e-8), -1 / (1 + 1e-8)];
      const update1 = [-0.1 * (adam1[0]! + 0.01 * 1), -0.1 * (adam1[1]! + 0.01 * -2)]; // ~[-0.101, 0.102]
      expect(await read((step1.updates as { p: ArrayBase }).p)).toBeAllclose(update1, { rtol: 1e-6 });
      expect(await read((step1.state.mu as { p: ArrayBase }).p)).toBeAllclose([0.05, -0.1], { rtol: 1e-6 });
      expect(await read((step1.state.nu as { p: ArrayBase }).p)).toBeAllclose([0.00025, 0.001], { rtol: 1e-6 });
      expect(await read(step1.state.count)).toEqual([1]);
      const params1 = tidy(() => optim.applyUpdates(params0, step1.updates) as { p: ArrayBase });
      const p1 = [1 + update1[0]!, -2 + update1[1]!]; // ~[0.899, -1.898]
      expect(await read(params1.p)).toBeAllclose(p1, { rtol: 1e-6 });

      // Step 2, g = [0.1, 0.2]:
      //   m = 0.9 [0.05, -0.1] + 0.1 [0.1, 0.2] = [0.055, -0.07]
      //   v = 0.999 [0.00025, 0.001] + 0.001 [0.01, 0.04] = [0.00025975, 0.001039]
      //   mhat = m / (1 - 0.81) = m / 0.19;  vhat = v / (1 - 0.998001) = v / 0.001999
      const step2 = tidy(() => opt.update({ p: np.array([0.1, 0.2]) }, step1.state, params1));
      const m2 = [0.055, -0.07];
      const v2 = [0.00025975, 0.001039];
      const update2 = [0, 1].map((i) => {
        const mhat = m2[i]! / 0.19;
        const vhat = v2[i]! / 0.001999;
        return -0.1 * (mhat / (Math.sqrt(vhat) + 1e-8) + 0.01 * p1[i]!);
      });
      expect(await read((step2.state.mu as { p: ArrayBase }).p)).toBeAllclose(m2, { rtol: 1e-6 });
      expect(await read((step2.state.nu as { p: ArrayBase }).p)).toBeAllclose(v2, { rtol: 1e-6 });
      expect(await read((step2.updates as { p: ArrayBase }).p)).toBeAllclose(update2, { rtol: 1e-5 });
      expect(await read(step2.state.count)).toEqual([2]);
      disposeTree(params0, state0, step1, params1, step2);
    });

    it("evaluates a learning-rate schedule at the 0-based step count", async () => {
      // lr(step) = 0.1 * (step + 1): the first update uses lr(0) = 0.1, the second lr(1) = 0.2.
      const schedule = (step: ArrayBase) => np.multiply(np.add(np.astype(step, "f32"), 1), 0.1);
      const opt = optim.adamw({ lr: schedule, weightDecay: 0 });
      const params = { p: np.array([3]) };
      const s0 = tidy(() => opt.init(params));
      const a = tidy(() => opt.update({ p: np.array([2]) }, s0, params));
      const b = tidy(() => opt.update({ p: np.array([2]) }, a.state, params));
      // With a constant gradient g, mhat = g and vhat = g^2 at every step: the Adam direction is sign(g). (In f32,
      // 1 - b2^2 = 0.001999 loses about 4 digits to cancellation, hence the tolerance.)
      expect(await read((a.updates as { p: ArrayBase }).p)).toBeAllclose([-0.1], { rtol: 1e-6 });
      expect(await read((b.updates as { p: ArrayBase }).p)).toBeAllclose([-0.2], { rtol: 1e-4 });
      disposeTree(params, s0, a, b);
    });

    it("sgd is -lr * g", async () => {
      const opt = optim.sgd({ lr: 0.5 });
      expect(await readT(() => (opt.update([np.array([1, -4])], opt.init([np.array([0, 0])]), [np.array([0, 0])]).updates as ArrayBase[])[0]!)).toEqual([-0.5, 2]);
    });

    it("validates its hyperparameters", () => {
      expect(() => optim.adamw({ lr: 1, b1: 1 })).toThrow(/b1/);
      expect(() => optim.adamw({ lr: 1, eps: -1 })).toThrow(/eps/);
    });
  });

  describe("schedules.warmupCosine", () => {
    // peak 1, 2 warmup steps, 6 steps in all, end 0.1: D = 4 decay steps.
    const schedule = optim.schedules.warmupCosine({ peak: 1, warmupSteps: 2, totalSteps: 6, endValue: 0.1 });
    const expected = [
      0, //                                             step 0: warmup 0/2
      0.5, //                                           step 1: warmup 1/2
      1, //                                             step 2: t = 0, cos 0 = 1 -> peak
      0.1 + (0.9 * (1 + Math.cos(Math.PI / 4))) / 2, //  step 3: t = 1 -> 0.8681981...
      0.1 + (0.9 * (1 + 0)) / 2, //                     step 4: t = 2, cos(pi/2) = 0 -> 0.55
      0.1 + (0.9 * (1 - Math.SQRT1_2)) / 2, //           step 5: t = 3 -> 0.2318019...
      0.1, //                                           step 6: t = 4, cos(pi) = -1 -> end
      0.1, //                                           step 9: held at end
    ];
    const steps = [0, 1, 2, 3, 4, 5, 6, 9];

    it("gives the hand-computed values for JS numbers", () => {
      expect(steps.map((s) => schedule(s))).toBeAllclose(expected, { rtol: 1e-12, atol: 1e-12 });
    });

    it("gives the same values for i32 step arrays, eagerly and under jit", async () => {
      const stepArray = np.array(steps, { dtype: "i32" });
      expect(await readT(() => schedule(stepArray))).toBeAllclose(expected, { rtol: 1e-6, atol: 1e-7 });
      const jitted = jit((s: ArrayBase) => schedule(s));
      expect(await readT(() => jitted(stepArray))).toBeAllclose(expected, { rtol: 1e-6, atol: 1e-7 });
      stepArray.dispose();
    });

    it("starts from initValue and handles zero warmup", () => {
      const warm = optim.schedules.warmupCosine({ peak: 2, warmupSteps: 4, totalSteps: 8, initValue: 1 });
      expect([0, 2, 4].map((s) => warm(s))).toEqual([1, 1.5, 2]);
      const cold = optim.schedules.warmupCosine({ peak: 2, warmupSteps: 0, totalSteps: 2 });
      expect([0, 1, 2].map((s) => cold(s))).toBeAllclose([2, 1, 0], { atol: 1e-12 });
      expect(() => optim.schedules.warmupCosine({ peak: 1, warmupSteps: 5, totalSteps: 5 })).toThrow(/warmupSteps/);
    });
  });

  describe("clipByGlobalNorm", () => {
    it("scales by maxNorm / norm above the limit and leaves gradients alone below it", async () => {
      const grads = { a: np.array([3]), b: np.array([[0, 4]]) }; // global norm sqrt(9 + 16) = 5
      const clipped = tidy(() => optim.clipByGlobalNorm(grads, 1));
      expect(await read(clipped.norm)).toEqual([5]);
      const g = clipped.grads as { a: ArrayBase; b: ArrayBase };
      expect(await read(g.a)).toBeAllclose([0.6]); // 3 * 1/5
      expect(await read(g.b)).toBeAllclose([0, 0.8]); // 4 * 1/5
      const untouched = tidy(() => optim.clipByGlobalNorm(grads, 10).grads as { a: ArrayBase; b: ArrayBase });
      expect(await read(untouched.a)).toEqual([3]);
      expect(await read(untouched.b)).toEqual([0, 4]);
      expect(await readT(() => optim.globalNorm([np.array([1, 2, 2])]))).toEqual([3]);
      disposeTree(grads, clipped, untouched);
    });

    it("passes zero gradients through", async () => {
      const clipped = tidy(() => optim.clipByGlobalNorm([np.zeros([3])], 1));
      expect(await read(clipped.norm)).toEqual([0]);
      expect(await read((clipped.grads as ArrayBase[])[0]!)).toEqual([0, 0, 0]);
      disposeTree(clipped);
    });
  });

  describe("a jitted train step on a tiny MLP", () => {
    type Params = { w1: ArrayBase; b1: ArrayBase; w2: ArrayBase; b2: ArrayBase };
    type Batch = { x: ArrayBase; y: ArrayBase };

    function mlpLoss(params: Params, batch: Batch): ArrayBase {
      const hidden = nn.gelu(np.add(np.matmul(batch.x, params.w1), params.b1)); // [B, 16]
      const logits = np.add(np.matmul(hidden, params.w2), params.b2); //          [B, 3]
      return nn.crossEntropy(logits, batch.y);
    }

    function setup() {
      const [k1, k2, k3] = random.splitList(random.key(0), 3);
      const params: Params = {
        w1: np.multiply(random.normal(k1!, [4, 16]), 0.5),
        b1: np.zeros([16]),
        w2: np.multiply(random.normal(k2!, [16, 3]), 0.25),
        b2: np.zeros([3]),
      };
      // Labels: which of three fixed directions the input points most along.
      const x = random.normal(k3!, [32, 4]);
      const directions = np.array([
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
        [1, -1, 0.5],
      ]);
      const y = np.argmax(np.matmul(x, directions), -1);
      return { params, batch: { x, y } };
    }

    const opt = optim.adamw({ lr: optim.schedules.warmupCosine({ peak: 0.05, warmupSteps: 5, totalSteps: 60, endValue: 0.005 }), weightDecay: 1e-4 });
    const trainStep = (params: Params, state: optim.AdamWState, batch: Batch) => {
      const [loss, rawGrads] = valueAndGrad(mlpLoss)(params, batch) as [ArrayBase, Params];
      const { grads, norm } = optim.clipByGlobalNorm(rawGrads, 1);
      const { updates, state: next } = opt.update(grads, state, params);
      return { params: optim.applyUpdates(params, updates) as Params, state: next, loss, norm };
    };

    it("decreases the loss, with one compiled program for every step", async () => {
      const { params, batch } = tidy(setup);
      const step = jit(trainStep);
      let p: Params = params;
      let s: optim.AdamWState = tidy(() => opt.init(params));
      const losses: number[] = [];
      for (let i = 0; i < 40; i++) {
        const out = step(p, s, batch) as unknown as { params: Params; state: optim.AdamWState; loss: DeviceArray; norm: DeviceArray };
        // The previous step's parameters and state are replaced (dispose waits for the step that reads them).
        disposeTree(p, s, out.norm);
        p = out.params;
        s = out.state;
        losses.push((await read(out.loss))[0]!);
        out.loss.dispose();
      }
      expect(step.cacheSize).toBe(1);
      expect(await read(s.count)).toEqual([40]);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[39]!).toBeLessThan(0.5 * losses[0]!);
      expect(Math.min(...losses.slice(30))).toBeLessThan(Math.min(...losses.slice(0, 5)));
      disposeTree(p, s, batch);
    });

    it("computes the same step under jit as eagerly", async () => {
      const { params, batch } = tidy(setup);
      const state = tidy(() => opt.init(params));
      const eager = tidy(() => trainStep(params, state, batch));
      const jitted = jit(trainStep)(params, state, batch) as unknown as typeof eager;
      expect(await read(jitted.loss)).toBeAllclose(await read(eager.loss), { rtol: 1e-6 });
      for (const name of ["w1", "b1", "w2", "b2"] as const) {
        expect(await read(jitted.params[name])).toBeAllclose(await read(eager.params[name]), { rtol: 1e-5, atol: 1e-6 });
      }
      disposeTree(params, batch, state, eager, jitted);
    });
  });
});

