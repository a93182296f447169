// Gradient checking against central finite differences in random directions. For a scalar function f and a
// random direction v over the differentiated arguments, the analytic directional derivative sum_i <grad_i, d_i>
// must match (f(x + eps v) - f(x - eps v)) / (2 eps), where d_i = (x_i + eps v_i) - (x_i - eps v_i) after both are
// rounded to f32 (so the rounding of the perturbation itself does not count as error).
import { type ArrayBase, grad, jit } from "../../src/index.js";
import { type HostValue, makeRng, readHost, toDevice } from "./arrays.js";

export interface CheckGradOptions {
  /** Which arguments to differentiate (default 0). */
  argnums?: number | readonly number[];
  /** Step along the direction (default 1e-2: f32 round-off grows as the step shrinks). */
  eps?: number;
  rtol?: number;
  atol?: number;
  /** Number of random directions (default 2). */
  directions?: number;
  seed?: number;
  /** Compute the gradient eagerly (default) or under jit. */
  mode?: "eager" | "jit";
}

export interface GradCheckReport {
  value: number;
  gradients: HostValue[];
  checks: { numeric: number; analytic: number }[];
}

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

async function scalarOf(x: unknown, where: string): Promise<number> {
  const value = await readHost(x as ArrayBase);
  if (value.shape.length !== 0) throw new Error(`${where}: the function must return a scalar, got shape [${value.shape}]`);
  return value.data[0]!;
}

/** Checks fn's gradient with respect to `argnums` at `args`; throws with the numbers on a mismatch. */
export async function checkGrad(
  fn: (...args: ArrayBase[]) => ArrayBase,
  args: readonly (HostValue | ArrayBase)[],
  options: CheckGradOptions = {},
): Promise<GradCheckReport> {
  const argnums = options.argnums === undefined ? [0] : typeof options.argnums === "number" ? [options.argnums] : [...options.argnums];
  const eps = options.eps ?? 1e-2;
  const rtol = options.rtol ?? 2e-2;
  const atol = options.atol ?? 1e-3;
  const rng = makeRng(options.seed ?? 1234);
  const hostArgs: HostValue[] = await Promise.all(args.map((a) => ("data" in a && Array.isArray(a.data) ? (a as HostValue) : readHost(a as ArrayBase))));
  for (const i of argnums) {
    if (hostArgs[i]!.dtype !== "f32") throw new Error(`checkGrad: argument ${i} is ${hostArgs[i]!.dtype}; finite differences need f32`);
  }
  const deviceArgs = hostArgs.map((a) => toDevice(a));

  const gradFn = grad(fn, { argnums });
  const jitted = jit(gradFn) as unknown as (...xs: ArrayBase[]) => unknown;
  const rawGrads = (options.mode === "jit" ? jitted(...deviceArgs) : gradFn(...deviceArgs)) as ArrayBase[];
  const gradients = await Promise.all(rawGrads.map(readHost));
  gradients.forEach((g, k) => {
    const a = hostArgs[argnums[k]!]!;
    if (g.dtype !== a.dtype || g.shape.join(",") !== a.shape.join(",")) {
      throw new Error(`checkGrad: gradient ${k} is ${g.dtype}[${g.shape}], argument ${argnums[k]} is ${a.dtype}[${a.shape}]`);
    }
    if (g.data.some((v) => !Number.isFinite(v))) throw new Error(`checkGrad: gradient ${k} has non-finite values: [${g.data}]`);
  });

  const evaluate = jit(fn, { device: "reference", name: "checkGrad" });
  const value = await scalarOf(evaluate(...deviceArgs), "checkGrad");
  const checks: { numeric: number; analytic: number }[] = [];
  for (let d = 0; d < (options.directions ?? 2); d++) {
    const plus = hostArgs.map((a) => ({ ...a, data: [...a.data] }));
    const minus = hostArgs.map((a) => ({ ...a, data: [...a.data] }));
    let analytic = 0;
    argnums.forEach((i, k) => {
      const direction = normals(hostArgs[i]!.data.length, rng);
      hostArgs[i]!.data.forEach((x, j) => {
        const p = Math.fround(x + eps * direction[j]!);
        const m = Math.fround(x - eps * direction[j]!);
        plus[i]!.data[j] = p;
        minus[i]!.data[j] = m;
        analytic += gradients[k]!.data[j]! * (p - m);
      });
    });
    analytic /= 2 * eps;
    const fPlus = await scalarOf(evaluate(...plus.map((a) => toDevice(a))), "checkGrad");
    const fMinus = await scalarOf(evaluate(...minus.map((a) => toDevice(a))), "checkGrad");
    const numeric = (fPlus - fMinus) / (2 * eps);
    checks.push({ numeric, analytic });
    if (!(Math.abs(numeric - analytic) <= atol + rtol * Math.abs(analytic))) {
      throw new Error(
        `checkGrad: direction ${d}: finite differences give ${numeric}, the gradient gives ${analytic} ` +
          `(|diff| ${Math.abs(numeric - analytic)} > atol ${atol} + rtol ${rtol} * |analytic|); f(x) = ${value}, ` +
          `f(x+) = ${fPlus}, f(x-) = ${fMinus}, eps ${eps}\n` +
          gradients.map((g, k) => `  grad of argument ${argnums[k]}: [${g.data.slice(0, 24).map((v) => v.toPrecision(5)).join(", ")}${g.data.length > 24 ? ", ..." : ""}]`).join("\n"),
      );
    }
  }
  return { value, gradients, checks };
}
