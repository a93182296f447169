// StableHLO versions in the engine: the version our plugin reports, and the gate that refuses a module using an
// op or attribute form newer than that version (as a real plugin's parser would), at the op's line and column.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace grpo::cpu {

struct StablehloVersion {
  int64_t major = 0;
  int64_t minor = 0;
  int64_t patch = 0;

  friend bool operator<(const StablehloVersion& a, const StablehloVersion& b) {
    if (a.major != b.major) return a.major < b.major;
    if (a.minor != b.minor) return a.minor < b.minor;
    return a.patch < b.patch;
  }
  std::string to_string() const;
};

// The StableHLO whose text the engine was checked against (the upstream tools at 1.13, docs/DECISIONS.md
// "StableHLO versions"): what the plugin reports unless GRPO_XLA_CPU_STABLEHLO_VERSION says otherwise.
inline constexpr StablehloVersion kEngineStablehloVersion{1, 13, 0};

// VHLO's first version: what the plugin reports as its minimum.
inline constexpr StablehloVersion kOldestStablehloVersion{0, 9, 0};

// Parses "MAJOR.MINOR.PATCH" (decimal, each below 10^9, no sign, nothing around it). False for anything else.
bool parse_stablehlo_version(std::string_view text, StablehloVersion* out);

namespace ir {
struct Function;
// Throws CompileError at the first op (or attribute) that needs a StableHLO newer than `supported`.
void check_stablehlo_version(const Function& function, const StablehloVersion& supported);
}  // namespace ir

}  // namespace grpo::cpu
