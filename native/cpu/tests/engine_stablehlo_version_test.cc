// The StableHLO version gate (issue 10.2): a module using an attribute form newer than the version the plugin
// reports is a CompileError at that attribute's line and column; the same module compiles at the version that
// introduced the form. Versions here are written by hand from openxla/stablehlo's history (hlo/versions.ts).
#include <cstdint>
#include <random>
#include <regex>

#include "test_harness.h"

using namespace grpo::cpu;
using namespace grpo::cpu::testing;

namespace {

StablehloVersion v(int64_t major, int64_t minor, int64_t patch) { return StablehloVersion{major, minor, patch}; }

// The error message when compiling at `version`, or "" when it compiles.
std::string compile_error_at(const std::string& text, const StablehloVersion& version) {
  try {
    compile(text, version);
  } catch (const CompileError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// One op on line 3; its attribute value starts at the column given by the test.
std::string one_op(const std::string& params, const std::string& result, const std::string& op) {
  return module(params, result, "    %r = " + op + "\n    \"func.return\"(%r) : (" + result + ") -> ()");
}

const std::string kReduce = one_op(
    "%a: tensor<2x3xf32>, %z: tensor<f32>", "tensor<2xf32>",
    "\"stablehlo.reduce\"(%a, %z) ({\n    ^bb0(%x: tensor<f32>, %y: tensor<f32>):\n"
    "      %s = \"stablehlo.add\"(%x, %y) : (tensor<f32>, tensor<f32>) -> tensor<f32>\n"
    "      \"stablehlo.return\"(%s) : (tensor<f32>) -> ()\n"
    "    }) {dimensions = array<i64: 1>} : (tensor<2x3xf32>, tensor<f32>) -> tensor<2xf32>");

const std::string kBroadcast = one_op(
    "%a: tensor<3xf32>", "tensor<2x3xf32>",
    "\"stablehlo.broadcast_in_dim\"(%a) {broadcast_dimensions = array<i64: 1>} : (tensor<3xf32>) -> tensor<2x3xf32>");

const std::string kTranspose = one_op(
    "%a: tensor<2x3xf32>", "tensor<3x2xf32>",
    "\"stablehlo.transpose\"(%a) {permutation = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>");

}  // namespace

TEST(stablehlo_version_parse) {
  StablehloVersion out;
  CHECK(parse_stablehlo_version("1.2.0", &out) && out.major == 1 && out.minor == 2 && out.patch == 0);
  CHECK(parse_stablehlo_version("0.17.12", &out) && out.minor == 17 && out.patch == 12);
  for (const char* bad : {"", "1", "1.2", "1.2.3.4", "1.2.", ".1.2", "a.b.c", "-1.0.0", "1.0.0 ", " 1.0.0", "1..0",
                          "1.2.x", "1234567890.0.0", "+1.0.0"}) {
    CHECK(!parse_stablehlo_version(bad, &out));
  }
  CHECK(v(0, 17, 2).to_string() == "0.17.2");
  CHECK(v(0, 17, 1) < v(0, 17, 2) && v(0, 17, 9) < v(1, 0, 0) && !(v(1, 0, 0) < v(1, 0, 0)));
}

TEST(stablehlo_version_parse_mutations) {
  // The variable comes from outside: mutated versions must be accepted exactly when they match the grammar (checked
  // by std::regex), and an accepted one must print back as written when it has no leading zeros.
  const std::regex grammar("[0-9]{1,9}\\.[0-9]{1,9}\\.[0-9]{1,9}");
  const std::string alphabet = "0123456789.-+ xe\t";
  std::mt19937 rng(1234);
  int accepted = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string text = i % 2 == 0 ? "1.13.0" : "0.17.12";
    int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = text.empty() ? 0 : rng() % (text.size() + 1);
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: text.insert(text.begin() + at, c); break;
        case 1: if (at < text.size()) text.erase(at, 1); break;
        default: if (at < text.size()) text[at] = c; break;
      }
    }
    StablehloVersion out;
    bool ok = parse_stablehlo_version(text, &out);
    CHECK(ok == std::regex_match(text, grammar));
    if (ok) {
      ++accepted;
      bool canonical = std::regex_match(text, std::regex("(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)"));
      if (canonical) CHECK(out.to_string() == text);
    }
  }
  CHECK(accepted > 100);  // the mutations reach both answers
}

TEST(stablehlo_version_gate_reduce_dimensions) {
  // reduce's `dimensions` reads as array<i64> from 0.17.2 (stablehlo ff9fd7b, #1902).
  std::string error = compile_error_at(kReduce, v(0, 17, 1));
  CHECK(contains(error, "line 7, column 22"));  // the `array<i64: 1>` value after `    }) {dimensions = `
  CHECK(contains(error, "stablehlo.reduce attribute dimensions written as array<i64: ...>"));
  CHECK(contains(error, "needs StableHLO 0.17.2"));
  CHECK(contains(error, "reads StableHLO 0.17.1"));
  CHECK(compile_error_at(kReduce, v(0, 17, 2)).empty());
  CHECK(compile_error_at(kReduce, kEngineStablehloVersion).empty());
}

TEST(stablehlo_version_gate_other_forms) {
  CHECK(contains(compile_error_at(kBroadcast, v(0, 16, 2)), "needs StableHLO 0.16.3"));
  CHECK(compile_error_at(kBroadcast, v(0, 16, 3)).empty());
  std::string error = compile_error_at(kTranspose, v(0, 16, 1));
  CHECK(contains(error, "line 3, column 51"));
  CHECK(contains(error, "stablehlo.transpose attribute permutation"));
  CHECK(contains(error, "needs StableHLO 0.16.2"));
  CHECK(compile_error_at(kTranspose, v(0, 16, 2)).empty());
}

TEST(stablehlo_version_gate_ops) {
  // Every op is in VHLO's first version, 0.9.0: a plugin claiming anything older refuses them by name.
  std::string add = one_op("%a: tensor<2xf32>", "tensor<2xf32>",
                           "\"stablehlo.add\"(%a, %a) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>");
  std::string error = compile_error_at(add, v(0, 8, 9));
  CHECK(contains(error, "line 3, column 5: stablehlo.add needs StableHLO 0.9.0"));
  CHECK(compile_error_at(add, v(0, 9, 0)).empty());
}
