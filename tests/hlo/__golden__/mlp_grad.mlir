// mlp_grad
module attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func @main(%arg0: tensor<5xf32>, %arg1: tensor<4xf32>, %arg2: tensor<3x5xf32>, %arg3: tensor<5x4xf32>, %arg4: tensor<2x3xf32>, %arg5: tensor<2xi32>) -> (tensor<5xf32>, tensor<4xf32>, tensor<3x5xf32>, tensor<5x4xf32>) {
    %0 = "stablehlo.dot_general"(%arg4, %arg2) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = [1], rhs_contracting_dimensions = [0]>, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<2x5xf32>
    %1 = "stablehlo.broadcast_in_dim"(%arg0) {broadcast_dimensions = array<i64: 1>} : (tensor<5xf32>) -> tensor<2x5xf32>
    %2 = "stablehlo.add"(%0, %1) : (tensor<2x5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
    %3 = "stablehlo.tanh"(%2) : (tensor<2x5xf32>) -> tensor<2x5xf32>
    %4 = "stablehlo.dot_general"(%3, %arg3) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = [1], rhs_contracting_dimensions = [0]>, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<2x5xf32>, tensor<5x4xf32>) -> tensor<2x4xf32>
    %5 = "stablehlo.broadcast_in_dim"(%arg1) {broadcast_dimensions = array<i64: 1>} : (tensor<4xf32>) -> tensor<2x4xf32>
    %6 = "stablehlo.add"(%4, %5) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %7 = "stablehlo.constant"() {value = dense<0xFF800000> : tensor<f32>} : () -> tensor<f32>
    %8 = "stablehlo.reduce"(%6, %7) ({
    ^bb0(%9: tensor<f32>, %10: tensor<f32>):
      %11 = "stablehlo.maximum"(%9, %10) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%11) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 1>} : (tensor<2x4xf32>, tensor<f32>) -> tensor<2xf32>
    %12 = "stablehlo.reshape"(%8) : (tensor<2xf32>) -> tensor<2x1xf32>
    %13 = "stablehlo.broadcast_in_dim"(%12) {broadcast_dimensions = array<i64: 0, 1>} : (tensor<2x1xf32>) -> tensor<2x4xf32>
    %14 = "stablehlo.subtract"(%6, %13) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %15 = "stablehlo.exponential"(%14) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    %16 = "stablehlo.constant"() {value = dense<0.0e+0> : tensor<f32>} : () -> tensor<f32>
    %17 = "stablehlo.reduce"(%15, %16) ({
    ^bb0(%18: tensor<f32>, %19: tensor<f32>):
      %20 = "stablehlo.add"(%18, %19) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%20) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 1>} : (tensor<2x4xf32>, tensor<f32>) -> tensor<2xf32>
    %21 = "stablehlo.reshape"(%17) : (tensor<2xf32>) -> tensor<2x1xf32>
    %22 = "stablehlo.log"(%21) : (tensor<2x1xf32>) -> tensor<2x1xf32>
    %23 = "stablehlo.broadcast_in_dim"(%22) {broadcast_dimensions = array<i64: 0, 1>} : (tensor<2x1xf32>) -> tensor<2x4xf32>
    %24 = "stablehlo.subtract"(%14, %23) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %25 = "stablehlo.reshape"(%arg5) : (tensor<2xi32>) -> tensor<2x1xi32>
    %26 = "stablehlo.iota"() {iota_dimension = 0 : i64} : () -> tensor<2x1xi32>
    %27 = "stablehlo.reshape"(%26) : (tensor<2x1xi32>) -> tensor<2x1x1xi32>
    %28 = "stablehlo.reshape"(%25) : (tensor<2x1xi32>) -> tensor<2x1x1xi32>
    %29 = "stablehlo.concatenate"(%27, %28) {dimension = 2 : i64} : (tensor<2x1x1xi32>, tensor<2x1x1xi32>) -> tensor<2x1x2xi32>
    %30 = "stablehlo.gather"(%24, %29) {dimension_numbers = #stablehlo.gather<offset_dims = [], collapsed_slice_dims = [0, 1], start_index_map = [0, 1], index_vector_dim = 2>, slice_sizes = array<i64: 1, 1>, indices_are_sorted = false} : (tensor<2x4xf32>, tensor<2x1x2xi32>) -> tensor<2x1xf32>
    %31 = "stablehlo.constant"() {value = dense<0.0e+0> : tensor<f32>} : () -> tensor<f32>
    %32 = "stablehlo.reduce"(%30, %31) ({
    ^bb0(%33: tensor<f32>, %34: tensor<f32>):
      %35 = "stablehlo.add"(%33, %34) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%35) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 0, 1>} : (tensor<2x1xf32>, tensor<f32>) -> tensor<f32>
    %36 = "stablehlo.constant"() {value = dense<2.0e+0> : tensor<f32>} : () -> tensor<f32>
    %37 = "stablehlo.broadcast_in_dim"(%36) {broadcast_dimensions = array<i64>} : (tensor<f32>) -> tensor<f32>
    %38 = "stablehlo.divide"(%32, %37) : (tensor<f32>, tensor<f32>) -> tensor<f32>
    %39 = "stablehlo.negate"(%38) : (tensor<f32>) -> tensor<f32>
    %40 = "stablehlo.constant"() {value = dense<1.0e+0> : tensor<f32>} : () -> tensor<f32>
    %41 = "stablehlo.negate"(%40) : (tensor<f32>) -> tensor<f32>
    %42 = "stablehlo.divide"(%41, %37) : (tensor<f32>, tensor<f32>) -> tensor<f32>
    %43 = "stablehlo.broadcast_in_dim"(%42) {broadcast_dimensions = array<i64>} : (tensor<f32>) -> tensor<2x1xf32>
    %44 = "stablehlo.constant"() {value = dense<0.0e+0> : tensor<f32>} : () -> tensor<f32>
    %45 = "stablehlo.broadcast_in_dim"(%44) {broadcast_dimensions = array<i64>} : (tensor<f32>) -> tensor<2x4xf32>
    %46 = "stablehlo.constant"() {value = dense<1> : tensor<i32>} : () -> tensor<i32>
    %47 = "stablehlo.broadcast_in_dim"(%46) {broadcast_dimensions = array<i64>} : (tensor<i32>) -> tensor<2x1x1xi32>
    %48 = "stablehlo.constant"() {value = dense<3> : tensor<i32>} : () -> tensor<i32>
    %49 = "stablehlo.broadcast_in_dim"(%48) {broadcast_dimensions = array<i64>} : (tensor<i32>) -> tensor<2x1x1xi32>
    %50 = "stablehlo.concatenate"(%47, %49) {dimension = 2 : i64} : (tensor<2x1x1xi32>, tensor<2x1x1xi32>) -> tensor<2x1x2xi32>
    %51 = "stablehlo.constant"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>
    %52 = "stablehlo.broadcast_in_dim"(%51) {broadcast_dimensions = array<i64>} : (tensor<i32>) -> tensor<2x1x2xi32>
    %53 = "stablehlo.clamp"(%52, %29, %50) : (tensor<2x1x2xi32>, tensor<2x1x2xi32>, tensor<2x1x2xi32>) -> tensor<2x1x2xi32>
    %54 = "stablehlo.scatter"(%45, %53, %43) ({
    ^bb0(%55: tensor<f32>, %56: tensor<f32>):
      %57 = "stablehlo.add"(%55, %56) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%57) : (tensor<f32>) -> ()
    }) {scatter_dimension_numbers = #stablehlo.scatter<update_window_dims = [], inserted_window_dims = [0, 1], scatter_dims_to_operand_dims = [0, 1], index_vector_dim = 2>, indices_are_sorted = false, unique_indices = false} : (tensor<2x4xf32>, tensor<2x1x2xi32>, tensor<2x1xf32>) -> tensor<2x4xf32>
    %58 = "stablehlo.negate"(%54) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    %59 = "stablehlo.constant"() {value = dense<0.0e+0> : tensor<f32>} : () -> tensor<f32>
    %60 = "stablehlo.reduce"(%58, %59) ({
    ^bb0(%61: tensor<f32>, %62: tensor<f32>):
      %63 = "stablehlo.add"(%61, %62) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%63) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 1>} : (tensor<2x4xf32>, tensor<f32>) -> tensor<2xf32>
    %64 = "stablehlo.reshape"(%60) : (tensor<2xf32>) -> tensor<2x1xf32>
    %65 = "stablehlo.divide"(%64, %21) : (tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x1xf32>
    %66 = "stablehlo.reshape"(%65) : (tensor<2x1xf32>) -> tensor<2xf32>
    %67 = "stablehlo.broadcast_in_dim"(%66) {broadcast_dimensions = array<i64: 0>} : (tensor<2xf32>) -> tensor<2x4xf32>
    %68 = "stablehlo.multiply"(%67, %15) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %69 = "stablehlo.add"(%54, %68) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %70 = "stablehlo.negate"(%69) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    %71 = "stablehlo.constant"() {value = dense<0.0e+0> : tensor<f32>} : () -> tensor<f32>
    %72 = "stablehlo.reduce"(%70, %71) ({
    ^bb0(%73: tensor<f32>, %74: tensor<f32>):
      %75 = "stablehlo.add"(%73, %74) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%75) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 1>} : (tensor<2x4xf32>, tensor<f32>) -> tensor<2xf32>
    %76 = "stablehlo.reshape"(%72) : (tensor<2xf32>) -> tensor<2x1xf32>
    %77 = "stablehlo.reshape"(%76) : (tensor<2x1xf32>) -> tensor<2xf32>
    %78 = "stablehlo.broadcast_in_dim"(%8) {broadcast_dimensions = array<i64: 0>} : (tensor<2xf32>) -> tensor<2x4xf32>
    %79 = "stablehlo.compare"(%6, %78) {comparison_direction = #stablehlo<comparison_direction EQ>, compare_type = #stablehlo<comparison_type FLOAT>} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xi1>
    %80 = "stablehlo.convert"(%79) : (tensor<2x4xi1>) -> tensor<2x4xf32>
    %81 = "stablehlo.constant"() {value = dense<0.0e+0> : tensor<f32>} : () -> tensor<f32>
    %82 = "stablehlo.reduce"(%80, %81) ({
    ^bb0(%83: tensor<f32>, %84: tensor<f32>):
      %85 = "stablehlo.add"(%83, %84) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%85) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 1>} : (tensor<2x4xf32>, tensor<f32>) -> tensor<2xf32>
    %86 = "stablehlo.divide"(%77, %82) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %87 = "stablehlo.broadcast_in_dim"(%86) {broadcast_dimensions = array<i64: 0>} : (tensor<2xf32>) -> tensor<2x4xf32>
    %88 = "stablehlo.multiply"(%87, %80) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %89 = "stablehlo.add"(%69, %88) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %90 = "stablehlo.constant"() {value = dense<0.0e+0> : tensor<f32>} : () -> tensor<f32>
    %91 = "stablehlo.reduce"(%89, %90) ({
    ^bb0(%92: tensor<f32>, %93: tensor<f32>):
      %94 = "stablehlo.add"(%92, %93) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%94) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 0>} : (tensor<2x4xf32>, tensor<f32>) -> tensor<4xf32>
    %95 = "stablehlo.dot_general"(%89, %arg3) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = [1], rhs_contracting_dimensions = [1]>, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<2x4xf32>, tensor<5x4xf32>) -> tensor<2x5xf32>
    %96 = "stablehlo.dot_general"(%89, %3) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = [0], rhs_contracting_dimensions = [0]>, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<2x4xf32>, tensor<2x5xf32>) -> tensor<4x5xf32>
    %97 = "stablehlo.transpose"(%96) {permutation = array<i64: 1, 0>} : (tensor<4x5xf32>) -> tensor<5x4xf32>
    %98 = "stablehlo.multiply"(%3, %3) : (tensor<2x5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
    %99 = "stablehlo.constant"() {value = dense<1.0e+0> : tensor<f32>} : () -> tensor<f32>
    %100 = "stablehlo.broadcast_in_dim"(%99) {broadcast_dimensions = array<i64>} : (tensor<f32>) -> tensor<2x5xf32>
    %101 = "stablehlo.subtract"(%100, %98) : (tensor<2x5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
    %102 = "stablehlo.multiply"(%95, %101) : (tensor<2x5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
    %103 = "stablehlo.constant"() {value = dense<0.0e+0> : tensor<f32>} : () -> tensor<f32>
    %104 = "stablehlo.reduce"(%102, %103) ({
    ^bb0(%105: tensor<f32>, %106: tensor<f32>):
      %107 = "stablehlo.add"(%105, %106) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%107) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 0>} : (tensor<2x5xf32>, tensor<f32>) -> tensor<5xf32>
    %108 = "stablehlo.dot_general"(%102, %arg4) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = [0], rhs_contracting_dimensions = [0]>, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<5x3xf32>
    %109 = "stablehlo.transpose"(%108) {permutation = array<i64: 1, 0>} : (tensor<5x3xf32>) -> tensor<3x5xf32>
    "func.return"(%104, %91, %109, %97) : (tensor<5xf32>, tensor<4xf32>, tensor<3x5xf32>, tensor<5x4xf32>) -> ()
  }
}
