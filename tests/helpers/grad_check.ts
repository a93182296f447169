// Gradient checking against finite differences, tight enough that a VJP off by 1% fails.
//
// The gradient g of a scalar function f is computed on the device under test (eagerly and under jit, checking
// the count, dtype, shape and finiteness of every gradient); f itself is evaluated on the reference device. Along
// a unit direction v, the directional derivative comes from the fourth-order central stencil
//   D(h) = [8 (f(x + h v) - f(x - h v)) - (f(x + 2h v) - f(x - 2h v))] / 12h,
// whose truncation error is h^4 |f^(5)| / 30 and whose rounding error is at most 1.5 e / h, e being the f32 error
// of one evaluation of f. The perturbed points are rounded to f32 before f sees them, so the analytic side applies
// the same stencil to the points actually used: A = sum_j g_j [8 (x+1 - x-1) - (x+2 - x-2)]_j / 12h, which removes
// the rounding of the perturbation from the comparison.
//
// The step is 2^-6 for f32 inputs: it balances the two error terms for f of moderate size (h^4/30 ~ 2e-9,
// 1.5 * 2^-24 / h ~ 6e-6 per unit of |f|). Rather than trusting a guess of e, the check measures the error of D:
// it evaluates the stencil again at h/2 (sharing the points at +-h) and takes |D(h) - D(h/2)| as the error
// estimate (the truncation parts differ by 15/16 of D(h)'s, the rounding parts are independent). The check fails when that estimate exceeds
// rtol |A| + atol, when the point or step is unfit for a tight check, and otherwise demands
// |A - D(h/2)| <= 2 (rtol |A| + atol) + |D(h) - D(h/2)|, i.e. at most 3 (rtol |A| + atol) in all.
// With rtol = 1e-3 a gradient off by a factor 1.01 fails along the first direction, which is the computed
// gradient itself (|A| = |g| there, so a scaling error is seen at full size); the next is random, so an error in
// any single entry shows too. atol = 1e-4 |g| covers random directions nearly orthogonal to g.
import { type ArrayBase, DeviceArray, grad, jit, tidy } from "../../src/index.js";
import type { DeviceKind } from "../../src/runtime/device.js";
import { type HostValue, makeRng, readHost, toDevice } from "./arrays.js";

export type GradMode = "eager" | "jit";

export interface CheckGradOptions {
  /** Which arguments to differentiate (default 0). */
  argnums?: number | readonly number[];
  /** The finite-difference step along a unit direction (default 2^-6 for f32). */
  step?: number;
  /** Relative tolerance on the directional derivative (default 1e-3; the bound applied is three times this). */
  rtol?: number;
  /** Absolute tolerance as a fraction of the gradient's norm (default 1e-4). */
  atolOfNorm?: number;
  /** Number of directions: the gradient's own, then random ones (default 2). */
  directions?: number;
  seed?: number;
  /** Where the gradient is computed (default reference); f is always evaluated on reference. */
  device?: DeviceKind;
  /** How the gradient is computed (default both, and they must agree to rtol 1e-5). */
  modes?: readonly GradMode[];
}

export interface DirectionCheck {
  analytic: number;
  numeric: number;
  /** |D(h) - D(h/2)|: the measured error of the finite differences. */
  error: number;
}

export interface GradCheckReport {
  value: number;
  /** The gradients, as computed in the first mode. */
  gradients: HostValue[];
  checks: DirectionCheck[];
}

const DEFAULT_STEP = 2 ** -6;

function normals(count: number, rng: () => number): number[] {
  const out: number[] = [];
  while (out.length < count) {
    const u = Math.max(rng(), 1e-12);
    const v = rng();
    const r = Math.sqrt(-2 * Math.log(u));
    out.push(r * Math.cos(2 * Math.PI * v), r * Math.sin(2 * Math.PI * v));
  }
  return out.slice(0, count);
}

function describeValue(x: HostValue): string {
  return `${x.dtype}[${x.shape}]`;
}

async function scalarOf(x: unknown): Promise<number> {
  const value = await readHost(x as ArrayBase);
  if (value.shape.length !== 0) throw new Error(`checkGrad: the function must return a scalar, got shape [${value.shape}]`);
  return value.data[0]!;
}

/** grad(fn) on `device` in `mode`, read back and checked against the arguments' dtypes and shapes. */
export async function gradientsOn(
  fn: (...args: ArrayBase[]) => ArrayBase,
  hostArgs: readonly HostValue[],
  argnums: readonly number[],
  device: DeviceKind,
  mode: GradMode,
): Promise<HostValue[]> {
  const args = hostArgs.map((a) => toDevice(a, device));
  const gradFn = grad(fn, { argnums: [...argnums] });
  // tidy frees the intermediates of an eager gradient; the gradients themselves are freed once read.
  const list = tidy(() => (mode === "jit" ? (jit(gradFn, { device }) as unknown as (...xs: ArrayBase[]) => ArrayBase[])(...args) : (gradFn(...args) as ArrayBase[])));
  const where = `checkGrad (${device} ${mode})`;
  if (!Array.isArray(list) || list.length !== argnums.length) {
    throw new Error(`${where}: expected ${argnums.length} gradients, got ${Array.isArray(list) ? list.length : typeof list}`);
  }
  const out = await Promise.all(list.map(readHost));
  const elsewhere = list.find((g) => g instanceof DeviceArray && g.device.kind !== device) as DeviceArray | undefined;
  for (const g of [...list, ...args]) if (g instanceof DeviceArray) g.dispose();
  if (elsewhere !== undefined) throw new Error(`${where}: a gradient was computed on ${elsewhere.device.kind}`);
  out.forEach((g, k) => {
    const a = hostArgs[argnums[k]!]!;
    if (g.dtype !== a.dtype || g.shape.join(",") !== a.shape.join(",")) {
      throw new Error(`${where}: gradient ${k} is ${describeValue(g)}, argument ${argnums[k]} is ${describeValue(a)}`);
    }
    if (g.data.some((v) => !Number.isFinite(v))) throw new Error(`${where}: gradient ${k} has non-finite values: [${g.data}]`);
  });
  return out;
}

/** Checks fn's gradient with respect to `argnums` at `args`; throws with the numbers on a mismatch. */
export async function checkGrad(
  fn: (...args: ArrayBase[]) => ArrayBase,
  args: readonly (HostValue | ArrayBase)[],
  options: CheckGradOptions = {},
): Promise<GradCheckReport> {
  const argnums = options.argnums === undefined ? [0] : typeof options.argnums === "number" ? [options.argnums] : [...options.argnums];
  const h = options.step ?? DEFAULT_STEP;
  const rtol = options.rtol ?? 1e-3;
  const device = options.device ?? "reference";
  const modes = options.modes ?? (["eager", "jit"] as const);
  const rng = makeRng(options.seed ?? 1234);
  const hostArgs: HostValue[] = await Promise.all(args.map((a) => ("data" in a && Array.isArray(a.data) ? (a as HostValue) : readHost(a as ArrayBase))));
  for (const i of argnums) {
    if (hostArgs[i]!.dtype !== "f32") throw new Error(`checkGrad: argument ${i} is ${hostArgs[i]!.dtype}; these finite differences are for f32`);
  }

  const perMode: HostValue[][] = [];
  for (const mode of modes) perMode.push(await gradientsOn(fn, hostArgs, argnums, device, mode));
  const gradients = perMode[0]!;
  perMode.slice(1).forEach((other, m) =>
    other.forEach((g, k) =>
      g.data.forEach((v, j) => {
        const e = gradients[k]!.data[j]!;
        if (!(Math.abs(v - e) <= 1e-5 * Math.abs(e) + 1e-7)) {
          throw new Error(`checkGrad (${device}): gradient ${k}[${j}] is ${v} in ${modes[m + 1]} mode but ${e} in ${modes[0]} mode`);
        }
      }),
    ),
  );
  const norm = Math.sqrt(gradients.reduce((s, g) => s + g.data.reduce((t, v) => t + v * v, 0), 0));
  const atol = (options.atolOfNorm ?? 1e-4) * norm;

  const evaluate = jit(fn, { device: "reference", name: "checkGrad" });
  const at = async (values: HostValue[]) => {
    const deviceArgs = values.map((a) => toDevice(a));
    const value = await scalarOf(evaluate(...deviceArgs));
    for (const a of deviceArgs) a.dispose();
    return value;
  };
  const value = await at(hostArgs);

  /** The stencils at steps h and h/2 along `v` (per differentiated argument), sharing the points at +-h:
   * [D(h), D(h/2), analytic for the h/2 stencil]. */
  const stencils = async (v: number[][]): Promise<[number, number, number]> => {
    const points = new Map<number, HostValue[]>();
    const f = new Map<number, number>();
    // Multiples k of h/2: the h/2 stencil uses k = +-1, +-2, the h stencil k = +-2, +-4.
    for (const k of [1, -1, 2, -2, 4, -4]) {
      const shifted = hostArgs.map((a, i) => {
        const slot = argnums.indexOf(i);
        return slot < 0 ? a : { ...a, data: a.data.map((x, j) => Math.fround(x + (k * h * v[slot]![j]!) / 2)) };
      });
      points.set(k, shifted);
      f.set(k, await at(shifted));
    }
    const stencil = (near: number, far: number, step: number) => (8 * (f.get(near)! - f.get(-near)!) - (f.get(far)! - f.get(-far)!)) / (12 * step);
    let analytic = 0;
    argnums.forEach((i, slot) => {
      const at = (k: number, j: number) => points.get(k)![i]!.data[j]!;
      gradients[slot]!.data.forEach((g, j) => (analytic += g * (8 * (at(1, j) - at(-1, j)) - (at(2, j) - at(-2, j)))));
    });
    return [stencil(2, 4, h), stencil(1, 2, h / 2), analytic / (6 * h)];
  };

  const checks: DirectionCheck[] = [];
  for (let d = 0; d < (options.directions ?? 2); d++) {
    // Direction 0 is the computed gradient itself (random if it is zero); the rest are random.
    let v = d === 0 && norm > 0 ? gradients.map((g) => [...g.data]) : argnums.map((i) => normals(hostArgs[i]!.data.length, rng));
    const length = Math.sqrt(v.reduce((s, part) => s + part.reduce((t, x) => t + x * x, 0), 0));
    v = v.map((part) => part.map((x) => x / length));
    const [coarse, numeric, analytic] = await stencils(v);
    const error = Math.abs(coarse - numeric);
    const allowed = rtol * Math.abs(analytic) + atol;
    const report =
      `direction ${d}${d === 0 ? " (the gradient's own)" : ""}: finite differences give ${numeric} (step ${h / 2}; ${coarse} at step ${h}), ` +
      `the gradient (${device}) gives ${analytic}; f(x) = ${value}, |g| = ${norm}\n` +
      gradients.map((g, k) => `  grad of argument ${argnums[k]}: [${g.data.slice(0, 24).map((x) => x.toPrecision(6)).join(", ")}${g.data.length > 24 ? ", ..." : ""}]`).join("\n");
    if (!(error <= allowed)) {
      throw new Error(`checkGrad: finite differences too inexact here for a tight check (|D(h) - D(h/2)| = ${error} > ${allowed}); ${report}`);
    }
    if (!(Math.abs(numeric - analytic) <= 2 * allowed + error)) {
      throw new Error(`checkGrad: |diff| ${Math.abs(numeric - analytic)} > ${2 * allowed + error}; ${report}`);
    }
    checks.push({ analytic, numeric, error });
  }
  return { value, gradients, checks };
}
