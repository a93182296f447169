// dot_general. Each operand is viewed as a matrix per batch index: lhs as M x K (free x contracting), rhs as
// K x N. When each group of dims flattens to a single stride, the operand goes to sgemm as it lies in memory, with
// CblasTrans when its contracting dims are the outer ones; otherwise it is packed first. Tiny products use plain
// loops (a BLAS call costs more than they do); integer dots always do.
// GCC vectorises loops with unknown trip counts only at -O3, and loops with float compares only without
// trapping math (values are unchanged; FP exception flags are not part of our semantics).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif
#include <algorithm>

#include "attrs.h"
#include "blas.h"
#include "kernels.h"
#include "layout.h"
#include "mixed_dot.h"
#include "steps.h"
#include "threads.h"

namespace grpo::cpu {

namespace {

// Size and stride of a group of dims read as one flattened index (in the listed order); false when the dims
// do not nest (the group needs a copy). Size-1 dims never matter; an empty group has size 1 and stride 0.
bool group_stride(const std::vector<int64_t>& dims, const std::vector<int64_t>& strides,
                  const std::vector<int64_t>& group, int64_t* size, int64_t* stride) {
  *size = 1;
  *stride = 0;
  int64_t prev = -1;
  for (int64_t g : group) {
    *size *= dims[g];
    if (dims[g] == 1) continue;
    if (prev >= 0 && strides[prev] != strides[g] * dims[g]) return false;
    prev = g;
  }
  if (prev >= 0) *stride = strides[prev];
  return true;
}

// How one operand reaches sgemm: as stored (trans or not) with leading dimension ld, or packed first.
struct OperandPlan {
  int64_t outer_stride = 0, inner_stride = 0;  // strides of the row (M or K) and column (K or N) index
  bool pack = false;
  bool trans = false;
  int64_t ld = 1;
  CopyPlan pack_plan;                 // to a contiguous [batch, rows, cols] buffer
  std::vector<int64_t> batch_offset;  // element offset of each batch matrix (in the packed buffer when packing)
};

// rows x cols matrix with element (r, c) at r * rs + c * cs.
void choose_blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, OperandPlan* p) {
  if ((cols <= 1 || cs == 1) && (rows <= 1 || rs >= cols)) {
    p->trans = false;
    p->ld = rows <= 1 ? std::max<int64_t>(cols, 1) : rs;
  } else if ((rows <= 1 || rs == 1) && (cols <= 1 || cs >= rows)) {
    p->trans = true;
    p->ld = cols <= 1 ? std::max<int64_t>(rows, 1) : cs;
  } else {
    p->pack = true;
  }
}

OperandPlan plan_operand(const TensorType& t, const std::vector<int64_t>& batch, const std::vector<int64_t>& row_group,
                         const std::vector<int64_t>& col_group, int64_t B, int64_t rows, int64_t cols) {
  OperandPlan p;
  const std::vector<int64_t> strides = row_major_strides(t.dims);
  int64_t size;
  bool ok = group_stride(t.dims, strides, row_group, &size, &p.outer_stride) &&
            group_stride(t.dims, strides, col_group, &size, &p.inner_stride);
  if (ok) choose_blas_layout(rows, cols, p.outer_stride, p.inner_stride, &p);
  if (!ok) p.pack = true;
  if (p.pack) {
    std::vector<int64_t> dims, src;
    for (const auto* group : {&batch, &row_group, &col_group}) {
      for (int64_t d : *group) {
        dims.push_back(t.dims[d]);
        src.push_back(strides[d]);
      }
    }
    p.pack_plan = make_copy_plan(dtype_size(DType::kF32), dims, src, row_major_strides(dims));
    p.trans = false;
    p.ld = std::max<int64_t>(cols, 1);
    p.outer_stride = cols;
    p.inner_stride = 1;
    for (int64_t b = 0; b < B; ++b) p.batch_offset.push_back(b * rows * cols);
  } else {
    // Offsets of each batch index combination (batch dims in the listed order, last fastest).
    p.batch_offset.assign(size_t(B), 0);
    int64_t repeat = B;
    for (int64_t d : batch) {
      repeat /= std::max<int64_t>(t.dims[d], 1);
      for (int64_t b = 0; b < B; ++b) p.batch_offset[b] += ((b / repeat) % t.dims[d]) * strides[d];
    }
  }
  return p;
}

struct DotPlan {
  int64_t B = 1, M = 1, N = 1, K = 1;
  OperandPlan lhs, rhs;
  DType lhs_dtype, rhs_dtype, out_dtype;
  bool small = false;  // plain loops instead of sgemm
};

// C[b] (M x N, row-major) from float operands, using the plans' strides.
void float_loops(const DotPlan& p, const float* A, const float* Bm, float* C) {
  const int64_t ams = p.lhs.trans ? 1 : p.lhs.ld, aks = p.lhs.trans ? p.lhs.ld : 1;
  const int64_t bks = p.rhs.trans ? 1 : p.rhs.ld, bns = p.rhs.trans ? p.rhs.ld : 1;
  const int64_t flops_per_batch = p.M * p.N * std::max<int64_t>(p.K, 1);
  parallel_for(p.B, std::max<int64_t>(1, (1 << 18) / std::max<int64_t>(flops_per_batch, 1)), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const float* a = A + p.lhs.batch_offset[b];
      const float* bb = Bm + p.rhs.batch_offset[b];
      float* c = C + b * p.M * p.N;
      for (int64_t m = 0; m < p.M; ++m) {
        float* row = c + m * p.N;
        std::fill_n(row, p.N, 0.0f);
        for (int64_t k = 0; k < p.K; ++k) {
          const float x = a[m * ams + k * aks];
          const float* brow = bb + k * bks;
          for (int64_t n = 0; n < p.N; ++n) row[n] += x * brow[n * bns];
        }
      }
    }
  });
}

void float_dot(const DotPlan& p, const float* A, const float* Bm, float* C) {
  if (p.small) return float_loops(p, A, Bm, C);
  for (int64_t b = 0; b < p.B; ++b) {
    sgemm(p.lhs.trans, p.rhs.trans, p.M, p.N, p.K, 1.0f, A + p.lhs.batch_offset[b], p.lhs.ld,
          Bm + p.rhs.batch_offset[b], p.rhs.ld, 0.0f, C + b * p.M * p.N, std::max<int64_t>(p.N, 1));
  }
}

template <class T>
int64_t as_int(const void* data, int64_t i) {
  return int64_t(static_cast<const T*>(data)[i]);
}

// Integer (and i1) dots: exact wrapping arithmetic in 64 bits, converted to the result type at the end.
void integer_dot(const DotPlan& p, const void* A, const void* Bm, void* out) {
  const int64_t ams = p.lhs.trans ? 1 : p.lhs.ld, aks = p.lhs.trans ? p.lhs.ld : 1;
  const int64_t bks = p.rhs.trans ? 1 : p.rhs.ld, bns = p.rhs.trans ? p.rhs.ld : 1;
  std::vector<int64_t> acc(size_t(p.B * p.M * p.N), 0);
  for (int64_t b = 0; b < p.B; ++b) {
    for (int64_t m = 0; m < p.M; ++m) {
      for (int64_t k = 0; k < p.K; ++k) {
        const int64_t x = read_int(A, p.lhs_dtype, p.lhs.batch_offset[b] + m * ams + k * aks);
        for (int64_t n = 0; n < p.N; ++n) {
          const int64_t y = read_int(Bm, p.rhs_dtype, p.rhs.batch_offset[b] + k * bks + n * bns);
          int64_t& c = acc[size_t((b * p.M + m) * p.N + n)];
          c = int64_t(uint64_t(c) + uint64_t(x) * uint64_t(y));
        }
      }
    }
  }
  if (p.out_dtype == DType::kPred) {
    for (size_t i = 0; i < acc.size(); ++i) static_cast<bool*>(out)[i] = acc[i] != 0;
  } else {
    convert_kernel(DType::kS64, p.out_dtype)(acc.data(), out, int64_t(acc.size()));
  }
}

}  // namespace

std::unique_ptr<Step> make_dot_step(const ir::Function& fn, const ir::Op& op) {
  const TensorType& lt = value_type(fn, op.operands[0]);
  const TensorType& rt = value_type(fn, op.operands[1]);
  const TensorType& out = value_type(fn, op.results[0]);
  const ir::DotDims d = ir::dot_dims(op);
  auto free_dims = [](const TensorType& t, const std::vector<int64_t>& batch, const std::vector<int64_t>& contract) {
    std::vector<int64_t> f;
    for (int64_t i = 0; i < int64_t(t.dims.size()); ++i) {
      if (std::find(batch.begin(), batch.end(), i) == batch.end() &&
          std::find(contract.begin(), contract.end(), i) == contract.end()) {
        f.push_back(i);
      }
    }
    return f;
  };
  const std::vector<int64_t> lf = free_dims(lt, d.lhs_batch, d.lhs_contract);
  const std::vector<int64_t> rf = free_dims(rt, d.rhs_batch, d.rhs_contract);
  DotPlan p;
  for (int64_t i : d.lhs_batch) p.B *= lt.dims[i];
  for (int64_t i : lf) p.M *= lt.dims[i];
  for (int64_t i : rf) p.N *= rt.dims[i];
  for (int64_t i : d.lhs_contract) p.K *= lt.dims[i];
  p.lhs = plan_operand(lt, d.lhs_batch, lf, d.lhs_contract, p.B, p.M, p.K);
  p.rhs = plan_operand(rt, d.rhs_batch, d.rhs_contract, rf, p.B, p.K, p.N);
  p.lhs_dtype = lt.dtype;
  p.rhs_dtype = rt.dtype;
  p.out_dtype = out.dtype;
  p.small = p.M * p.N * p.K <= 32 * 32 * 32;
  const bool floating = is_float(lt.dtype) || is_float(rt.dtype) || is_float(out.dtype);
  const int64_t lhs_count = lt.num_elements(), rhs_count = rt.num_elements();
  const size_t out_bytes = out.byte_size();
  // The weight path reads the rhs where it lies: a bf16 weight is never widened whole, and few-row products
  // (decode) stream it through threaded kernels rather than sgemm, which threads poorly at M = 1.
  // Small batched f32 products of a few rows with a K of a vector or more (a decode step's attention: [4 heads,
  // 256] against 19 cached keys per batch row) take the same kernels: the plain loops read the keys with a stride
  // of H and ran 65-90 us a call, 3.9 ms of a batch-8 step.
  const bool few_row_small = p.small && rt.dtype == DType::kF32 && p.M <= kSmallRows && p.K >= 16;
  const bool weight_path = floating && (!p.small || few_row_small) && !p.rhs.pack &&
                           (lt.dtype == DType::kF32 || lt.dtype == DType::kBF16) &&
                           (rt.dtype == DType::kBF16 || (rt.dtype == DType::kF32 && p.M <= kSmallRows));
  const int64_t out_count = out.num_elements();

  auto step = std::make_unique<LambdaStep>();
  step->fn = [=](RunContext& ctx, const Step& s) {
    void* y = ctx.alloc(s.outputs[0], out_bytes);
    if (out_count == 0) return;
    const void* a = ctx.in(s.inputs[0]);
    const void* b = ctx.in(s.inputs[1]);
    if (!floating) {
      // Packing is only needed for sgemm; the loops read any layout through the batch offsets and strides.
      DotPlan q = p;
      std::vector<std::vector<int64_t>> packed;
      auto repack = [&](const OperandPlan& op_plan, const void*& data, DType* dtype, int64_t count) {
        if (!op_plan.pack) return;
        std::vector<int64_t> as64(static_cast<size_t>(count));
        for (int64_t i = 0; i < count; ++i) as64[i] = read_int(data, *dtype, i);
        CopyPlan plan = op_plan.pack_plan;
        plan.elem_size = 8;
        packed.emplace_back(size_t(count));
        run_copy(plan, as64.data(), packed.back().data());
        data = packed.back().data();
        *dtype = DType::kS64;
      };
      packed.reserve(2);
      repack(q.lhs, a, &q.lhs_dtype, lhs_count);
      repack(q.rhs, b, &q.rhs_dtype, rhs_count);
      integer_dot(q, a, b, y);
      return;
    }
    // Float: bring each operand to f32 (bf16 and integers convert; layout unchanged), pack if its layout needs
    // it, multiply into f32, convert the result if it is not f32. On the weight path the rhs is never converted.
    std::vector<std::shared_ptr<Storage>> temps;
    auto to_f32 = [&](const void* data, DType dtype, int64_t count, const OperandPlan& plan) -> const float* {
      const float* f = static_cast<const float*>(data);
      if (dtype != DType::kF32) {
        temps.push_back(std::make_shared<Storage>(size_t(count) * 4, Storage::Uninitialized{}));
        UnaryFn conv = convert_kernel(dtype, DType::kF32);
        float* dst = static_cast<float*>(temps.back()->data());
        parallel_for(count, kParallelGrain, [&](int64_t lo, int64_t hi) {
          conv(static_cast<const char*>(data) + lo * int64_t(dtype_size(dtype)), dst + lo, hi - lo);
        });
        f = dst;
      }
      if (plan.pack) {
        temps.push_back(std::make_shared<Storage>(size_t(count) * 4, Storage::Uninitialized{}));
        run_copy(plan.pack_plan, f, temps.back()->data());
        f = static_cast<const float*>(temps.back()->data());
      }
      return f;
    };
    float* fc = static_cast<float*>(y);
    if (p.out_dtype != DType::kF32) {
      temps.push_back(std::make_shared<Storage>(size_t(out_count) * 4, Storage::Uninitialized{}));
      fc = static_cast<float*>(temps.back()->data());
    }
    const float* fa = to_f32(a, p.lhs_dtype, lhs_count, p.lhs);
    if (weight_path) {
      // The kernels take the lhs as contiguous rows: a transposed lhs (small next to the weight) is copied.
      auto lhs_at = [&](int64_t bi) { return p.lhs.pack ? bi * p.M * p.K : p.lhs.batch_offset[bi]; };
      int64_t lda = p.lhs.pack ? p.K : p.lhs.ld;
      if (p.lhs.trans && !p.lhs.pack) {
        temps.push_back(std::make_shared<Storage>(size_t(p.B * p.M * p.K) * 4, Storage::Uninitialized{}));
        float* dst = static_cast<float*>(temps.back()->data());
        for (int64_t bi = 0; bi < p.B; ++bi) {
          for (int64_t m = 0; m < p.M; ++m) {
            for (int64_t k = 0; k < p.K; ++k) dst[(bi * p.M + m) * p.K + k] = fa[p.lhs.batch_offset[bi] + m + k * p.lhs.ld];
          }
        }
        fa = dst;
        lda = p.K;
      }
      const int64_t w_size = int64_t(dtype_size(p.rhs_dtype));
      for (int64_t bi = 0; bi < p.B; ++bi) {
        WeightView w;
        w.data = static_cast<const char*>(b) + p.rhs.batch_offset[bi] * w_size;
        w.type = p.rhs_dtype == DType::kBF16 ? WeightType::kBF16 : WeightType::kF32;
        w.k_stride = p.rhs.trans ? 1 : p.rhs.ld;
        w.n_stride = p.rhs.trans ? p.rhs.ld : 1;
        const float* ab = fa + ((p.lhs.trans && !p.lhs.pack) ? bi * p.M * p.K : lhs_at(bi));
        float* cb = fc + bi * p.M * p.N;
        if (p.M <= kSmallRows) {
          small_rows_dot(p.M, p.N, p.K, ab, lda, w, cb, p.N);
        } else {
          panel_dot(p.M, p.N, p.K, ab, lda, w, cb, p.N);
        }
      }
    } else {
      float_dot(p, fa, to_f32(b, p.rhs_dtype, rhs_count, p.rhs), fc);
    }
    if (p.out_dtype != DType::kF32) convert_kernel(DType::kF32, p.out_dtype)(fc, y, out_count);
  };
  return step;
}

}  // namespace grpo::cpu
