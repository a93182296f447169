// Elementwise math with StableHLO's exact semantics per element type (wrapping integers, XLA's division by zero,
// NaN-propagating max/min, saturating float->int). bf16 computes in f32 and rounds back to nearest even.
// GCC vectorises loops with unknown trip counts only at -O3, and loops with float compares only without
// trapping math (values are unchanged; FP exception flags are not part of our semantics).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif
#include <algorithm>
#include <cmath>
#include <limits>

#include "fast_math.h"
#include "kernels.h"
#include "scalar_ops.h"

namespace grpo::cpu {

namespace {

using ir::OpKind;
using namespace ops;

// ---------------------------------------------------------------- unary functors
// Each functor: `ok<T>` says whether the element type is supported, `f` computes one element.
// exp for f32 without libm calls, so loops over it vectorise. Range reduction x = n ln2 + r with ln2 in two parts,
// e^r by its degree-7 Taylor polynomial (|r| <= ln2/2: truncation error below 0.1 ulp), then two exponent
// scalings so subnormal and overflowing results come out right. Within 2 ulp of the correctly rounded exp.
inline float vector_exp(float x) {
  // Comparisons rather than fmin/fmax (which are library calls); a NaN becomes -104 here and is restored below.
  float clamped = x > -104.0f ? x : -104.0f;
  clamped = clamped < 89.0f ? clamped : 89.0f;
  const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float n = (clamped * 1.44269504088896341f + shifter) - shifter;
  const float r = (clamped - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int ni = int(n);
  const int half = ni / 2;
  const float scale1 = bits_float(uint32_t(half + 127) << 23);
  const float scale2 = bits_float(uint32_t(ni - half + 127) << 23);
  const float result = p * scale1 * scale2;
  return x != x ? x : result;
}

#define FLOAT_UNARY(Name, expr)                          \
  struct Name {                                          \
    template <class T>                                   \
    static constexpr bool ok = std::is_same_v<T, float>; \
    static float f(float x) { return expr; }             \
  };
FLOAT_UNARY(ExpOp, vector_exp(x))
FLOAT_UNARY(LogOp, vector_log(x))
// Rounded once from double, as the reference device computes it (libm's log1pf is 1 ulp off on ~5% of inputs).
FLOAT_UNARY(Log1pOp, float(std::log1p(double(x))))
FLOAT_UNARY(TanhOp, vector_tanh(x))
FLOAT_UNARY(LogisticOp, 1.0f / (1.0f + vector_exp(-x)))
FLOAT_UNARY(SqrtOp, std::sqrt(x))
FLOAT_UNARY(RsqrtOp, 1.0f / std::sqrt(x))
FLOAT_UNARY(FloorOp, std::floor(x))
FLOAT_UNARY(SinOp, std::sin(x))
FLOAT_UNARY(CosOp, std::cos(x))
#undef FLOAT_UNARY

struct NegateOp {
  template <class T>
  static constexpr bool ok = !kIsBool<T>;
  template <class T>
  static T f(T x) {
    if constexpr (kIsInt<T>) return T(Unsigned<T>(0) - Unsigned<T>(x));
    else return -x;
  }
};
struct AbsOp {
  template <class T>
  static constexpr bool ok = !kIsBool<T>;
  template <class T>
  static T f(T x) {
    if constexpr (std::is_unsigned_v<T>) return x;
    else if constexpr (kIsInt<T>) return x < 0 ? T(Unsigned<T>(0) - Unsigned<T>(x)) : x;
    else return std::fabs(x);
  }
};
struct SignOp {
  template <class T>
  static constexpr bool ok = !kIsBool<T>;
  template <class T>
  static T f(T x) {
    if constexpr (std::is_unsigned_v<T>) return x != 0;
    else if constexpr (kIsInt<T>) return x < 0 ? T(-1) : (x == 0 ? T(0) : T(1));
    else return (std::isnan(x) || x == 0) ? x : (x < 0 ? -1.0f : 1.0f);  // keeps NaN and the sign of zero
  }
};
struct NotOp {
  template <class T>
  static constexpr bool ok = kIsInt<T> || kIsBool<T>;
  template <class T>
  static T f(T x) {
    if constexpr (kIsBool<T>) return !x;
    else return T(~x);
  }
};

template <class Op, class T>
void unary_loop(const void* in, void* out, int64_t n) {
  if constexpr (std::is_same_v<T, bf16>) {
    const uint16_t* x = static_cast<const uint16_t*>(in);
    uint16_t* y = static_cast<uint16_t*>(out);
    for (int64_t i = 0; i < n; ++i) y[i] = float_to_bf16(Op::f(bf16_to_float(x[i])));
  } else {
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    for (int64_t i = 0; i < n; ++i) y[i] = Op::f(x[i]);
  }
}

template <class Op>
UnaryFn pick_unary(DType dtype) {
  return dispatch_dtype(dtype, [](auto tag) -> UnaryFn {
    using T = decltype(tag);
    using C = std::conditional_t<std::is_same_v<T, bf16>, float, T>;
    if constexpr (Op::template ok<C>) return &unary_loop<Op, T>;
    else return nullptr;
  });
}

template <class Op, class T>
void binary_loop(const void* pa, const void* pb, void* out, int64_t n) {
  if constexpr (std::is_same_v<T, bf16>) {
    const uint16_t* a = static_cast<const uint16_t*>(pa);
    const uint16_t* b = static_cast<const uint16_t*>(pb);
    uint16_t* y = static_cast<uint16_t*>(out);
    for (int64_t i = 0; i < n; ++i) y[i] = float_to_bf16(Op::f(bf16_to_float(a[i]), bf16_to_float(b[i])));
  } else {
    const T* a = static_cast<const T*>(pa);
    const T* b = static_cast<const T*>(pb);
    T* y = static_cast<T*>(out);
    for (int64_t i = 0; i < n; ++i) y[i] = Op::f(a[i], b[i]);
  }
}

template <class Op>
BinaryFn pick_binary(DType dtype) {
  return dispatch_dtype(dtype, [](auto tag) -> BinaryFn {
    using T = decltype(tag);
    using C = std::conditional_t<std::is_same_v<T, bf16>, float, T>;
    if constexpr (Op::template ok<C>) return &binary_loop<Op, T>;
    else return nullptr;
  });
}

// ---------------------------------------------------------------- compare
// Maps a float to an unsigned key whose order is StableHLO's total order (-NaN < -Inf < ... < -0 < +0 < ... < NaN).
inline uint32_t total_order_key(float x) {
  uint32_t u = float_bits(x);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

template <class T>
auto compare_value(T x) {
  if constexpr (std::is_same_v<T, bf16>) return bf16_to_float(x.bits);
  else return x;
}

template <ir::CompareDirection D, class V>
inline bool apply_direction(V a, V b) {
  using CD = ir::CompareDirection;
  if constexpr (D == CD::kEQ) return a == b;
  else if constexpr (D == CD::kNE) return a != b;
  else if constexpr (D == CD::kGE) return a >= b;
  else if constexpr (D == CD::kGT) return a > b;
  else if constexpr (D == CD::kLE) return a <= b;
  else return a < b;
}

template <ir::CompareDirection D, class T, bool kTotal>
void compare_loop(const void* pa, const void* pb, void* out, int64_t n) {
  const T* a = static_cast<const T*>(pa);
  const T* b = static_cast<const T*>(pb);
  bool* y = static_cast<bool*>(out);
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (kTotal) {
      y[i] = apply_direction<D>(total_order_key(float(compare_value(a[i]))), total_order_key(float(compare_value(b[i]))));
    } else {
      y[i] = apply_direction<D>(compare_value(a[i]), compare_value(b[i]));
    }
  }
}

template <ir::CompareDirection D>
BinaryFn pick_compare(DType dtype, bool total) {
  return dispatch_dtype(dtype, [total](auto tag) -> BinaryFn {
    using T = decltype(tag);
    if constexpr (kIsFloat<T>) {
      if (total) return &compare_loop<D, T, true>;
    }
    return &compare_loop<D, T, false>;
  });
}

// ---------------------------------------------------------------- convert
// An integer rounded once, to nearest even, to bf16's 8 significant bits (int -> f32 -> bf16 would round twice).
inline uint16_t int_to_bf16(int64_t v, bool is_unsigned) {
  bool negative = !is_unsigned && v < 0;
  uint64_t m = negative ? uint64_t(0) - uint64_t(v) : uint64_t(v);
  if (m < (uint64_t(1) << 24)) return float_to_bf16(negative ? -float(m) : float(m));
  int top = 63 - __builtin_clzll(m);
  int shift = top - 7;
  uint64_t q = m >> shift, rest = m & ((uint64_t(1) << shift) - 1), half = uint64_t(1) << (shift - 1);
  if (rest > half || (rest == half && (q & 1))) ++q;
  float f = std::ldexp(float(q), shift);  // exact: q has at most 9 significant bits
  return float_to_bf16(negative ? -f : f);
}

template <class To>
To float_to_int(float x) {
  if (std::isnan(x)) return 0;
  constexpr double lo = double(std::numeric_limits<To>::min());
  constexpr double hi = double(std::numeric_limits<To>::max());
  double t = std::trunc(double(x));
  if (t <= lo) return std::numeric_limits<To>::min();
  if (t >= hi) return std::numeric_limits<To>::max();
  return To(t);
}

template <class From, class To>
void convert_loop(const void* in, void* out, int64_t n) {
  const From* x = static_cast<const From*>(in);
  To* y = static_cast<To*>(out);
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<To, bool>) {
      if constexpr (std::is_same_v<From, bf16>) y[i] = (x[i].bits & 0x7fff) != 0;
      else y[i] = x[i] != From(0);
    } else if constexpr (std::is_same_v<To, bf16>) {
      if constexpr (std::is_same_v<From, float>) y[i].bits = float_to_bf16(x[i]);
      else if constexpr (std::is_same_v<From, bf16>) y[i] = x[i];
      else if constexpr (std::is_same_v<From, bool>) y[i].bits = x[i] ? 0x3f80 : 0;
      else y[i].bits = int_to_bf16(int64_t(x[i]), std::is_unsigned_v<From>);
    } else if constexpr (std::is_same_v<From, bf16>) {
      float f = bf16_to_float(x[i].bits);
      if constexpr (std::is_same_v<To, float>) y[i] = f;
      else y[i] = float_to_int<To>(f);
    } else if constexpr (std::is_same_v<From, float> && kIsInt<To>) {
      y[i] = float_to_int<To>(x[i]);
    } else {
      y[i] = To(x[i]);  // int->int wraps; int->f32 rounds to nearest even; bool->any is 0/1
    }
  }
}

template <class T>
void clamp_loop(const void* plo, int64_t lo_step, const void* px, const void* phi, int64_t hi_step, void* out,
                int64_t n) {
  const T* lo = static_cast<const T*>(plo);
  const T* x = static_cast<const T*>(px);
  const T* hi = static_cast<const T*>(phi);
  T* y = static_cast<T*>(out);
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<T, bf16>) {
      float v = MaxOp::f(bf16_to_float(x[i].bits), bf16_to_float(lo[i * lo_step].bits));
      y[i].bits = float_to_bf16(MinOp::f(v, bf16_to_float(hi[i * hi_step].bits)));
    } else {
      y[i] = MinOp::f(MaxOp::f(x[i], lo[i * lo_step]), hi[i * hi_step]);
    }
  }
}

template <class E>
void select_loop(const bool* pred, int64_t pred_step, const void* pa, const void* pb, void* out, int64_t n) {
  const E* a = static_cast<const E*>(pa);
  const E* b = static_cast<const E*>(pb);
  E* y = static_cast<E*>(out);
  for (int64_t i = 0; i < n; ++i) y[i] = pred[i * pred_step] ? a[i] : b[i];
}

}  // namespace

// The f32 loops of log and tanh work in double, where 16-byte vectors hold only two lanes: these are compiled
// for AVX-512 and AVX2 as well and the loader picks the widest this CPU has (GCC function multiversioning).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GRPO_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GRPO_SIMD_CLONES
#endif
GRPO_SIMD_CLONES void log_f32_kernel(const void* in, void* out, int64_t n) {
  const float* x = static_cast<const float*>(in);
  float* y = static_cast<float*>(out);
  for (int64_t i = 0; i < n; ++i) y[i] = vector_log(x[i]);
}
// exp is in f32, but the baseline build has 4-lane vectors and no FMA: the [B, V] exp of the sampler's
// log-softmax (2M elements per decode step at batch 8) ran at a fraction of the memory rate.
GRPO_SIMD_CLONES void exp_f32_kernel(const void* in, void* out, int64_t n) {
  const float* x = static_cast<const float*>(in);
  float* y = static_cast<float*>(out);
  for (int64_t i = 0; i < n; ++i) y[i] = vector_exp(x[i]);
}
GRPO_SIMD_CLONES void tanh_f32_kernel(const void* in, void* out, int64_t n) {
  const float* x = static_cast<const float*>(in);
  float* y = static_cast<float*>(out);
  for (int64_t i = 0; i < n; ++i) y[i] = vector_tanh(x[i]);
}

UnaryFn unary_kernel(OpKind op, DType dtype) {
  switch (op) {
    case OpKind::kNegate: return pick_unary<NegateOp>(dtype);
    case OpKind::kExp: return dtype == DType::kF32 ? &exp_f32_kernel : pick_unary<ExpOp>(dtype);
    case OpKind::kLog: return dtype == DType::kF32 ? &log_f32_kernel : pick_unary<LogOp>(dtype);
    case OpKind::kLog1p: return pick_unary<Log1pOp>(dtype);
    case OpKind::kTanh: return dtype == DType::kF32 ? &tanh_f32_kernel : pick_unary<TanhOp>(dtype);
    case OpKind::kLogistic: return pick_unary<LogisticOp>(dtype);
    case OpKind::kSqrt: return pick_unary<SqrtOp>(dtype);
    case OpKind::kRsqrt: return pick_unary<RsqrtOp>(dtype);
    case OpKind::kAbs: return pick_unary<AbsOp>(dtype);
    case OpKind::kSign: return pick_unary<SignOp>(dtype);
    case OpKind::kFloor: return pick_unary<FloorOp>(dtype);
    case OpKind::kSin: return pick_unary<SinOp>(dtype);
    case OpKind::kCos: return pick_unary<CosOp>(dtype);
    case OpKind::kNot: return pick_unary<NotOp>(dtype);
    default: return nullptr;
  }
}

BinaryFn binary_kernel(OpKind op, DType dtype) {
  switch (op) {
    case OpKind::kAdd: return pick_binary<AddOp>(dtype);
    case OpKind::kSub: return pick_binary<SubOp>(dtype);
    case OpKind::kMul: return pick_binary<MulOp>(dtype);
    case OpKind::kDiv: return pick_binary<DivOp>(dtype);
    case OpKind::kPow: return pick_binary<PowOp>(dtype);
    case OpKind::kMax: return pick_binary<MaxOp>(dtype);
    case OpKind::kMin: return pick_binary<MinOp>(dtype);
    case OpKind::kRem: return pick_binary<RemOp>(dtype);
    case OpKind::kAnd: return pick_binary<AndOp>(dtype);
    case OpKind::kOr: return pick_binary<OrOp>(dtype);
    case OpKind::kXor: return pick_binary<XorOp>(dtype);
    case OpKind::kShiftLeft: return pick_binary<ShlOp>(dtype);
    case OpKind::kShiftRightLogical: return pick_binary<ShrlOp>(dtype);
    case OpKind::kShiftRightArithmetic: return pick_binary<ShraOp>(dtype);
    default: return nullptr;
  }
}

BinaryFn compare_kernel(ir::CompareDirection direction, ir::CompareType type, DType dtype) {
  using CD = ir::CompareDirection;
  bool total = type == ir::CompareType::kTotalOrder;
  switch (direction) {
    case CD::kEQ: return pick_compare<CD::kEQ>(dtype, total);
    case CD::kNE: return pick_compare<CD::kNE>(dtype, total);
    case CD::kGE: return pick_compare<CD::kGE>(dtype, total);
    case CD::kGT: return pick_compare<CD::kGT>(dtype, total);
    case CD::kLE: return pick_compare<CD::kLE>(dtype, total);
    case CD::kLT: return pick_compare<CD::kLT>(dtype, total);
  }
  return nullptr;
}

UnaryFn convert_kernel(DType from, DType to) {
  return dispatch_dtype(from, [to](auto from_tag) -> UnaryFn {
    using From = decltype(from_tag);
    return dispatch_dtype(to, [](auto to_tag) -> UnaryFn {
      using To = decltype(to_tag);
      return &convert_loop<From, To>;
    });
  });
}

ClampFn clamp_kernel(DType dtype) {
  return dispatch_dtype(dtype, [](auto tag) -> ClampFn { return &clamp_loop<decltype(tag)>; });
}

void select_kernel(size_t elem_size, const bool* pred, int64_t pred_step, const void* a, const void* b, void* out,
                   int64_t n) {
  switch (elem_size) {
    case 1: return select_loop<uint8_t>(pred, pred_step, a, b, out, n);
    case 2: return select_loop<uint16_t>(pred, pred_step, a, b, out, n);
    case 4: return select_loop<uint32_t>(pred, pred_step, a, b, out, n);
    default: return select_loop<uint64_t>(pred, pred_step, a, b, out, n);
  }
}

void fill_elements(void* out, const void* value, size_t elem_size, int64_t n) {
  switch (elem_size) {
    case 1: std::memset(out, *static_cast<const uint8_t*>(value), size_t(n)); return;
    case 2: {
      uint16_t v;
      std::memcpy(&v, value, 2);
      std::fill_n(static_cast<uint16_t*>(out), n, v);
      return;
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, value, 4);
      std::fill_n(static_cast<uint32_t*>(out), n, v);
      return;
    }
    default: {
      uint64_t v;
      std::memcpy(&v, value, 8);
      std::fill_n(static_cast<uint64_t*>(out), n, v);
    }
  }
}

}  // namespace grpo::cpu
