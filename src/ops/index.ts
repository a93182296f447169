// The primitive-level API (like jax.lax): one function per primitive, operands of matching shapes.
export * from "./elementwise.js";
export * from "./shape.js";
export * from "./reduce.js";
export * from "./dot.js";
export * from "./indexing.js";
export * from "./control.js";
export { stopGradient } from "./stop_gradient.js";
export { bind, bind1 } from "./bind.js";
