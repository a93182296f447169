// The version gate. The table mirrors hlo/versions.ts (where each entry's source is given): ops by the VHLO
// version that introduced them, and the integer-list attributes by the first StableHLO version whose text parser
// reads them as `array<i64: ...>`. tests/runtime/stablehlo_version.test.ts checks both tables against one list.
#include "stablehlo_version.h"

#include <charconv>
#include <unordered_map>

#include "engine.h"
#include "ir.h"

namespace grpo::cpu {

std::string StablehloVersion::to_string() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

bool parse_stablehlo_version(std::string_view text, StablehloVersion* out) {
  int64_t parts[3];
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (pos >= text.size() || text[pos] != '.') return false;
      ++pos;
    }
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start || pos - start > 9) return false;
    std::from_chars(text.data() + start, text.data() + pos, parts[i]);
  }
  if (pos != text.size()) return false;
  *out = StablehloVersion{parts[0], parts[1], parts[2]};
  return true;
}

namespace ir {
namespace {

// VhloOps.td: every op the engine knows is in VHLO's first version.
const std::unordered_map<std::string_view, StablehloVersion>& op_versions() {
  static const std::unordered_map<std::string_view, StablehloVersion> table = [] {
    std::unordered_map<std::string_view, StablehloVersion> t;
    for (std::string_view op :
         {"abs", "add", "and", "bitcast_convert", "broadcast_in_dim", "clamp", "compare", "concatenate", "constant",
          "convert", "cosine", "divide", "dot_general", "dynamic_slice", "dynamic_update_slice", "exponential", "floor",
          "gather", "iota", "log", "log_plus_one", "logistic", "maximum", "minimum", "multiply", "negate", "not",
          "optimization_barrier", "or", "pad", "power", "reduce", "remainder", "reshape", "return", "reverse", "rsqrt",
          "scatter", "select", "shift_left", "shift_right_arithmetic", "shift_right_logical", "sign", "sine", "slice",
          "sqrt", "subtract", "tanh", "transpose", "while", "xor"}) {
      t.emplace(op, kOldestStablehloVersion);
    }
    return t;
  }();
  return table;
}

// "op:attribute" -> first version reading it as array<i64: ...>.
const std::unordered_map<std::string_view, StablehloVersion>& array_attribute_versions() {
  static const std::unordered_map<std::string_view, StablehloVersion> table = {
      {"slice:start_indices", {0, 16, 2}},
      {"slice:limit_indices", {0, 16, 2}},
      {"slice:strides", {0, 16, 2}},
      {"dynamic_slice:slice_sizes", {0, 16, 2}},
      {"pad:edge_padding_low", {0, 16, 2}},
      {"pad:edge_padding_high", {0, 16, 2}},
      {"pad:interior_padding", {0, 16, 2}},
      {"transpose:permutation", {0, 16, 2}},
      {"reverse:dimensions", {0, 16, 2}},
      {"broadcast_in_dim:broadcast_dimensions", {0, 16, 3}},
      {"reduce:dimensions", {0, 17, 2}},
      {"gather:slice_sizes", {0, 17, 2}},
  };
  return table;
}

[[noreturn]] void too_new(SourceLoc loc, const std::string& what, const StablehloVersion& needs,
                          const StablehloVersion& supported) {
  throw CompileError(where(loc) + ": " + what + " needs StableHLO " + needs.to_string() +
                     ", but this plugin reads StableHLO " + supported.to_string() +
                     " (its stablehlo_current_version)");
}

void check_region(const Region& region, const StablehloVersion& supported) {
  constexpr std::string_view kPrefix = "stablehlo.";
  for (const Op& op : region.ops) {
    if (op.name.compare(0, kPrefix.size(), kPrefix) == 0) {
      const std::string_view short_name = std::string_view(op.name).substr(kPrefix.size());
      auto found = op_versions().find(short_name);
      if (found != op_versions().end() && supported < found->second) too_new(op.loc, op.name, found->second, supported);
      for (size_t i = 0; i < op.attr_names.size(); ++i) {
        if (op.attr_values[i].kind != Attribute::Kind::kIntArray) continue;
        std::string key = std::string(short_name) + ":" + op.attr_names[i];
        auto attr = array_attribute_versions().find(key);
        if (attr != array_attribute_versions().end() && supported < attr->second) {
          too_new(op.attr_values[i].loc, op.name + " attribute " + op.attr_names[i] + " written as array<i64: ...>",
                  attr->second, supported);
        }
      }
    }
    for (const Region& inner : op.regions) check_region(inner, supported);
  }
}

}  // namespace

void check_stablehlo_version(const Function& function, const StablehloVersion& supported) {
  check_region(function.body, supported);
}

}  // namespace ir
}  // namespace grpo::cpu
