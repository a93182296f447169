// softmax_cross_entropy
module attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func @main(%arg0: tensor<4x5xf32>, %arg1: tensor<4xi32>) -> tensor<f32> {
    %0 = "stablehlo.constant"() {value = dense<0xFF800000> : tensor<f32>} : () -> tensor<f32>
    %1 = "stablehlo.reduce"(%arg0, %0) ({
    ^bb0(%2: tensor<f32>, %3: tensor<f32>):
      %4 = "stablehlo.maximum"(%2, %3) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%4) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 1>} : (tensor<4x5xf32>, tensor<f32>) -> tensor<4xf32>
    %5 = "stablehlo.reshape"(%1) : (tensor<4xf32>) -> tensor<4x1xf32>
    %6 = "stablehlo.broadcast_in_dim"(%5) {broadcast_dimensions = array<i64: 0, 1>} : (tensor<4x1xf32>) -> tensor<4x5xf32>
    %7 = "stablehlo.subtract"(%arg0, %6) : (tensor<4x5xf32>, tensor<4x5xf32>) -> tensor<4x5xf32>
    %8 = "stablehlo.exponential"(%7) : (tensor<4x5xf32>) -> tensor<4x5xf32>
    %9 = "stablehlo.constant"() {value = dense<0.0e+0> : tensor<f32>} : () -> tensor<f32>
    %10 = "stablehlo.reduce"(%8, %9) ({
    ^bb0(%11: tensor<f32>, %12: tensor<f32>):
      %13 = "stablehlo.add"(%11, %12) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%13) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 1>} : (tensor<4x5xf32>, tensor<f32>) -> tensor<4xf32>
    %14 = "stablehlo.reshape"(%10) : (tensor<4xf32>) -> tensor<4x1xf32>
    %15 = "stablehlo.log"(%14) : (tensor<4x1xf32>) -> tensor<4x1xf32>
    %16 = "stablehlo.broadcast_in_dim"(%15) {broadcast_dimensions = array<i64: 0, 1>} : (tensor<4x1xf32>) -> tensor<4x5xf32>
    %17 = "stablehlo.subtract"(%7, %16) : (tensor<4x5xf32>, tensor<4x5xf32>) -> tensor<4x5xf32>
    %18 = "stablehlo.reshape"(%arg1) : (tensor<4xi32>) -> tensor<4x1xi32>
    %19 = "stablehlo.iota"() {iota_dimension = 0 : i64} : () -> tensor<4x1xi32>
    %20 = "stablehlo.reshape"(%19) : (tensor<4x1xi32>) -> tensor<4x1x1xi32>
    %21 = "stablehlo.reshape"(%18) : (tensor<4x1xi32>) -> tensor<4x1x1xi32>
    %22 = "stablehlo.concatenate"(%20, %21) {dimension = 2 : i64} : (tensor<4x1x1xi32>, tensor<4x1x1xi32>) -> tensor<4x1x2xi32>
    %23 = "stablehlo.gather"(%17, %22) {dimension_numbers = #stablehlo.gather<offset_dims = [], collapsed_slice_dims = [0, 1], start_index_map = [0, 1], index_vector_dim = 2>, slice_sizes = array<i64: 1, 1>, indices_are_sorted = false} : (tensor<4x5xf32>, tensor<4x1x2xi32>) -> tensor<4x1xf32>
    %24 = "stablehlo.constant"() {value = dense<0.0e+0> : tensor<f32>} : () -> tensor<f32>
    %25 = "stablehlo.reduce"(%23, %24) ({
    ^bb0(%26: tensor<f32>, %27: tensor<f32>):
      %28 = "stablehlo.add"(%26, %27) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%28) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 0, 1>} : (tensor<4x1xf32>, tensor<f32>) -> tensor<f32>
    %29 = "stablehlo.constant"() {value = dense<4.0e+0> : tensor<f32>} : () -> tensor<f32>
    %30 = "stablehlo.broadcast_in_dim"(%29) {broadcast_dimensions = array<i64>} : (tensor<f32>) -> tensor<f32>
    %31 = "stablehlo.divide"(%25, %30) : (tensor<f32>, tensor<f32>) -> tensor<f32>
    %32 = "stablehlo.negate"(%31) : (tensor<f32>) -> tensor<f32>
    "func.return"(%32) : (tensor<f32>) -> ()
  }
}
