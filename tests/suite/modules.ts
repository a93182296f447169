// Hand-written modules for the module-check tests: a good add and two mistyped ones whose types mlir-opt's
// structural check cannot judge.
import { mainModule } from "../runtime/helpers.js";

// An add of f32[3] and i32[4] that claims an f64[7] result: every type is a valid builtin type.
export const MISTYPED_ADD = mainModule("(%arg0: tensor<3xf32>, %arg1: tensor<4xi32>) -> tensor<7xf64>", [
  `%0 = "stablehlo.add"(%arg0, %arg1) : (tensor<3xf32>, tensor<4xi32>) -> tensor<7xf64>`,
  `"func.return"(%0) : (tensor<7xf64>) -> ()`,
]);
// The same mistake in element types the engine supports, so the op's own type check must catch it.
export const MISMATCHED_ADD = mainModule("(%arg0: tensor<3xf32>, %arg1: tensor<4xi32>) -> tensor<7xf32>", [
  `%0 = "stablehlo.add"(%arg0, %arg1) : (tensor<3xf32>, tensor<4xi32>) -> tensor<7xf32>`,
  `"func.return"(%0) : (tensor<7xf32>) -> ()`,
]);
export const GOOD_ADD = mainModule("(%arg0: tensor<3xf32>) -> tensor<3xf32>", [
  `%0 = "stablehlo.add"(%arg0, %arg0) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>`,
  `"func.return"(%0) : (tensor<3xf32>) -> ()`,
]);
