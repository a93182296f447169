// A tiny test harness for the engine tests: CHECK macros, module builders and a run helper.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "test_util.h"

namespace grpo::cpu::testing {

inline int g_checks = 0;
inline int g_failures = 0;
inline const char* g_current_test = "";

#define CHECK(cond)                                                                                     \
  do {                                                                                                  \
    ++::grpo::cpu::testing::g_checks;                                                                   \
    if (!(cond)) {                                                                                      \
      ++::grpo::cpu::testing::g_failures;                                                               \
      std::fprintf(stderr, "[%s] %s:%d: CHECK failed: %s\n", ::grpo::cpu::testing::g_current_test,     \
                   __FILE__, __LINE__, #cond);                                                          \
    }                                                                                                   \
  } while (0)

inline void check_values(const std::vector<double>& got, const std::vector<double>& want, double tol, int line) {
  ++g_checks;
  bool ok = got.size() == want.size();
  for (size_t i = 0; ok && i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      ok = std::isnan(got[i]);
    } else if (std::isinf(want[i])) {
      ok = got[i] == want[i];
    } else {
      ok = std::fabs(got[i] - want[i]) <= tol * (1 + std::fabs(want[i]));
    }
  }
  if (!ok) {
    ++g_failures;
    std::fprintf(stderr, "[%s] line %d: values differ\n  got:  %s\n  want: %s\n", g_current_test, line,
                 format_values(got, 200).c_str(), format_values(want, 200).c_str());
  }
}

#define CHECK_VALUES(tensor, ...) \
  ::grpo::cpu::testing::check_values(::grpo::cpu::testing::values_of(tensor), __VA_ARGS__, 1e-6, __LINE__)
#define CHECK_CLOSE(tensor, tol, ...) \
  ::grpo::cpu::testing::check_values(::grpo::cpu::testing::values_of(tensor), __VA_ARGS__, tol, __LINE__)

// A module around one @main: `params` like "%a: tensor<2xf32>", `results` like "tensor<2xf32>".
inline std::string module(const std::string& params, const std::string& results, const std::string& body) {
  return "module {\n  func.func @main(" + params + ") -> " + results + " {\n" + body + "\n  }\n}\n";
}

inline std::vector<Tensor> run_module(const std::string& text, const std::vector<Tensor>& args,
                                      std::vector<bool> donated = {}) {
  auto exe = compile(text);
  return exe->run(args, donated);
}

// Runs `text` expecting a CompileError whose message contains every one of `fragments`.
inline void check_compile_error(const std::string& text, const std::vector<std::string>& fragments, int line) {
  ++g_checks;
  try {
    compile(text);
  } catch (const CompileError& e) {
    std::string msg = e.what();
    for (const std::string& f : fragments) {
      if (msg.find(f) == std::string::npos) {
        ++g_failures;
        std::fprintf(stderr, "[%s] line %d: error message lacks '%s': %s\n", g_current_test, line, f.c_str(),
                     msg.c_str());
        return;
      }
    }
    return;
  }
  ++g_failures;
  std::fprintf(stderr, "[%s] line %d: expected a CompileError\n", g_current_test, line);
}
#define CHECK_COMPILE_ERROR(text, ...) ::grpo::cpu::testing::check_compile_error(text, __VA_ARGS__, __LINE__)

struct TestCase {
  const char* name;
  void (*fn)();
};
inline std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}
struct Register {
  Register(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};
#define TEST(name)                                                   \
  static void test_##name();                                         \
  static ::grpo::cpu::testing::Register register_##name(#name, test_##name); \
  static void test_##name()

inline Tensor f32(std::vector<int64_t> dims, std::vector<double> v) { return make_tensor(DType::kF32, dims, v); }
inline Tensor i32(std::vector<int64_t> dims, std::vector<double> v) { return make_tensor(DType::kS32, dims, v); }
inline Tensor u32(std::vector<int64_t> dims, std::vector<double> v) { return make_tensor(DType::kU32, dims, v); }

}  // namespace grpo::cpu::testing
