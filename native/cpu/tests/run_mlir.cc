// run_mlir FILE [--arg I=v0,v1,...]... [--donate I]... [--repeat N] [--all]
// Compiles a StableHLO module with the CPU engine, runs it and prints every result. Arguments without --arg get a
// deterministic pattern (floats: multiples of 0.25 in [-1.25, 1.25]; ints: 0..10; i1: alternating).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "test_util.h"

using namespace grpo::cpu;
using namespace grpo::cpu::testing;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: run_mlir FILE [--arg I=v0,v1,...] [--donate I] [--repeat N] [--all]\n");
    return 2;
  }
  std::map<int, std::vector<double>> given;
  std::vector<int> donate;
  int repeat = 1;
  size_t limit = 64;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--arg" && i + 1 < argc) {
      std::string spec = argv[++i];
      size_t eq = spec.find('=');
      int index = std::stoi(spec.substr(0, eq));
      std::stringstream ss(spec.substr(eq + 1));
      std::string item;
      while (std::getline(ss, item, ',')) given[index].push_back(std::stod(item));
    } else if (a == "--donate" && i + 1 < argc) {
      donate.push_back(std::stoi(argv[++i]));
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::stoi(argv[++i]);
    } else if (a == "--all") {
      limit = size_t(-1);
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  std::ifstream file(argv[1]);
  if (!file) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  std::stringstream text;
  text << file.rdbuf();
  configure_blas_once();
  std::unique_ptr<Executable> exe;
  try {
    exe = compile(text.str());
  } catch (const CompileError& e) {
    std::fprintf(stderr, "compile error: %s\n", e.what());
    return 1;
  }
  const auto& params = exe->parameter_types();
  try {
    std::vector<Tensor> results;
    double best_us = 1e30;
    for (int r = 0; r < repeat; ++r) {
      std::vector<Tensor> args;
      std::vector<bool> donated(params.size(), false);
      for (size_t i = 0; i < params.size(); ++i) {
        std::vector<double> v = given.count(int(i)) ? given[int(i)] : std::vector<double>{};
        if (v.empty()) {
          int64_t n = std::min<int64_t>(params[i].num_elements(), 4096);
          for (int64_t j = 0; j < n; ++j) {
            int64_t k = (j * 7 + int64_t(i) * 3) % 11;
            v.push_back(is_float(params[i].dtype) ? double(k - 5) * 0.25 : params[i].dtype == DType::kPred ? double(j % 2)
                                                                                                           : double(k));
          }
        }
        args.push_back(make_tensor(params[i].dtype, params[i].dims, v));
      }
      for (int d : donate) donated.at(size_t(d)) = true;
      auto t0 = std::chrono::steady_clock::now();
      results = exe->run(args, donated);
      auto t1 = std::chrono::steady_clock::now();
      best_us = std::min(best_us, std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    for (size_t k = 0; k < results.size(); ++k) {
      std::printf("result %zu: %s = %s\n", k, results[k].type.to_string().c_str(),
                  format_values(values_of(results[k]), limit).c_str());
    }
    if (repeat > 1) std::printf("best run: %.1f us over %d runs; BLAS: %s\n", best_us, repeat, blas_description().c_str());
  } catch (const ExecuteError& e) {
    std::fprintf(stderr, "execute error: %s\n", e.what());
    return 1;
  }
  return 0;
}
