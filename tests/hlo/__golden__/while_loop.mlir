// while_loop
module attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func @main(%arg0: tensor<3xf32>, %arg1: tensor<i32>) -> (tensor<i32>, tensor<3xf32>) {
    %0 = "stablehlo.constant"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>
    %1 = "stablehlo.multiply"(%arg1, %0) : (tensor<i32>, tensor<i32>) -> tensor<i32>
    %2 = "stablehlo.constant"() {value = dense<0.0e+0> : tensor<f32>} : () -> tensor<f32>
    %3 = "stablehlo.broadcast_in_dim"(%2) {broadcast_dimensions = array<i64>} : (tensor<f32>) -> tensor<3xf32>
    %4:2 = "stablehlo.while"(%1, %3) ({
    ^bb0(%5: tensor<i32>, %6: tensor<3xf32>):
      %7 = "stablehlo.compare"(%5, %arg1) {comparison_direction = #stablehlo<comparison_direction LT>, compare_type = #stablehlo<comparison_type SIGNED>} : (tensor<i32>, tensor<i32>) -> tensor<i1>
      "stablehlo.return"(%7) : (tensor<i1>) -> ()
    }, {
    ^bb0(%8: tensor<i32>, %9: tensor<3xf32>):
      %10 = "stablehlo.constant"() {value = dense<1> : tensor<i32>} : () -> tensor<i32>
      %11 = "stablehlo.add"(%8, %10) : (tensor<i32>, tensor<i32>) -> tensor<i32>
      %12 = "stablehlo.convert"(%8) : (tensor<i32>) -> tensor<f32>
      %13 = "stablehlo.broadcast_in_dim"(%12) {broadcast_dimensions = array<i64>} : (tensor<f32>) -> tensor<3xf32>
      %14 = "stablehlo.multiply"(%arg0, %13) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
      %15 = "stablehlo.add"(%9, %14) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
      "stablehlo.return"(%11, %15) : (tensor<i32>, tensor<3xf32>) -> ()
    }) : (tensor<i32>, tensor<3xf32>) -> (tensor<i32>, tensor<3xf32>)
    "func.return"(%4#0, %4#1) : (tensor<i32>, tensor<3xf32>) -> ()
  }
}
