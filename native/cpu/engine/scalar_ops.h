// Binary functors with StableHLO's per-type semantics, shared by the elementwise kernels and the reductions.
// Each has `ok<T>` (is the compute type supported) and `f(a, b)`; bf16 computes as float.
#pragma once

#include <cmath>
#include <limits>

#include "common.h"

namespace grpo::cpu::ops {

template <class T>
using Unsigned = std::make_unsigned_t<T>;

struct AddOp {
  template <class T>
  static constexpr bool ok = true;
  template <class T>
  static T f(T a, T b) {
    if constexpr (kIsBool<T>) return a || b;
    else if constexpr (kIsInt<T>) return T(Unsigned<T>(a) + Unsigned<T>(b));
    else return a + b;
  }
};
struct SubOp {
  template <class T>
  static constexpr bool ok = !kIsBool<T>;
  template <class T>
  static T f(T a, T b) {
    if constexpr (kIsInt<T>) return T(Unsigned<T>(a) - Unsigned<T>(b));
    else return a - b;
  }
};
struct MulOp {
  template <class T>
  static constexpr bool ok = true;
  template <class T>
  static T f(T a, T b) {
    if constexpr (kIsBool<T>) return a && b;
    else if constexpr (kIsInt<T>) return T(Unsigned<T>(a) * Unsigned<T>(b));
    else return a * b;
  }
};
struct DivOp {
  template <class T>
  static constexpr bool ok = !kIsBool<T>;
  template <class T>
  static T f(T a, T b) {
    if constexpr (kIsInt<T>) {
      // XLA's choices where C++ is undefined: x/0 = -1 (all ones), INT_MIN/-1 = INT_MIN.
      if (b == 0) return T(-1);
      if constexpr (std::is_signed_v<T>) {
        if (a == std::numeric_limits<T>::min() && b == T(-1)) return a;
      }
      return T(a / b);
    } else {
      return a / b;
    }
  }
};
struct RemOp {
  template <class T>
  static constexpr bool ok = !kIsBool<T>;
  template <class T>
  static T f(T a, T b) {
    if constexpr (kIsInt<T>) {
      if (b == 0) return a;
      if constexpr (std::is_signed_v<T>) {
        if (a == std::numeric_limits<T>::min() && b == T(-1)) return 0;
      }
      return T(a % b);
    } else {
      return std::fmod(a, b);
    }
  }
};
struct PowOp {
  template <class T>
  static constexpr bool ok = !kIsBool<T>;
  template <class T>
  static T f(T a, T b) {
    if constexpr (kIsInt<T>) {
      using U = Unsigned<T>;
      U exponent = U(b);
      if constexpr (std::is_signed_v<T>) {
        if (b < 0) {
          if (a == 1 || a == -1) exponent = U(U(0) - U(b));
          else return 0;
        }
      }
      U base = U(a), result = 1;
      while (exponent) {
        if (exponent & 1) result = U(result * base);
        base = U(base * base);
        exponent >>= 1;
      }
      return T(result);
    } else {
      return float(std::pow(double(a), double(b)));
    }
  }
};
struct MaxOp {
  template <class T>
  static constexpr bool ok = true;
  template <class T>
  static T f(T a, T b) {
    if constexpr (kIsBool<T>) return a || b;
    else if constexpr (kIsInt<T>) return a > b ? a : b;
    else {
      if (std::isnan(a) || std::isnan(b)) return a + b;  // NaN propagates
      if (a == b) return std::signbit(a) ? b : a;        // +0 beats -0
      return a > b ? a : b;
    }
  }
};
struct MinOp {
  template <class T>
  static constexpr bool ok = true;
  template <class T>
  static T f(T a, T b) {
    if constexpr (kIsBool<T>) return a && b;
    else if constexpr (kIsInt<T>) return a < b ? a : b;
    else {
      if (std::isnan(a) || std::isnan(b)) return a + b;
      if (a == b) return std::signbit(a) ? a : b;  // -0 beats +0
      return a < b ? a : b;
    }
  }
};
#define BITWISE(Name, op)                                     \
  struct Name {                                               \
    template <class T>                                        \
    static constexpr bool ok = kIsInt<T> || kIsBool<T>;       \
    template <class T>                                        \
    static T f(T a, T b) {                                    \
      if constexpr (kIsBool<T>) return bool(int(a) op int(b)); \
      else return T(a op b);                                  \
    }                                                         \
  };
BITWISE(AndOp, &)
BITWISE(OrOp, |)
BITWISE(XorOp, ^)
#undef BITWISE
// Shift amounts are read as unsigned; amounts of at least the bit width give 0 (or the sign for arithmetic).
struct ShlOp {
  template <class T>
  static constexpr bool ok = kIsInt<T>;
  template <class T>
  static T f(T a, T b) {
    using U = Unsigned<T>;
    return U(b) >= sizeof(T) * 8 ? T(0) : T(U(U(a) << U(b)));
  }
};
struct ShrlOp {
  template <class T>
  static constexpr bool ok = kIsInt<T>;
  template <class T>
  static T f(T a, T b) {
    using U = Unsigned<T>;
    return U(b) >= sizeof(T) * 8 ? T(0) : T(U(a) >> U(b));
  }
};
struct ShraOp {
  template <class T>
  static constexpr bool ok = kIsInt<T>;
  template <class T>
  static T f(T a, T b) {
    using U = Unsigned<T>;
    using S = std::make_signed_t<T>;
    S sa = S(a);
    if (U(b) >= sizeof(T) * 8) return T(sa < 0 ? S(-1) : S(0));
    return T(S(sa >> U(b)));
  }
};


}  // namespace grpo::cpu::ops
