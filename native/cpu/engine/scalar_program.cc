// Compiling a rank-0 region into a register program (see scalar_program.h).
#include "scalar_program.h"

#include <unordered_map>

namespace grpo::cpu {

using ir::OpKind;

ScalarProgram::ScalarProgram(const ir::Function& fn, const ir::Region& region) {
  std::unordered_map<int, int> reg_of;  // value id -> register
  auto new_register = [&](int value) {
    int r = int(initial_.size());
    initial_.push_back(0);
    reg_of[value] = r;
    return r;
  };
  for (int arg : region.args) new_register(arg);
  num_args_ = int(region.args.size());
  auto reg = [&](const ir::Op& op, int value) {
    auto it = reg_of.find(value);
    if (it != reg_of.end()) return it->second;
    const TensorType& t = fn.values[value].type;
    if (!t.dims.empty()) {
      ir::op_error(op, "inside a reduce/scatter body reads " + fn.values[value].name + " of type " + t.to_string() +
                           ": only scalars are supported there");
    }
    int r = new_register(value);  // a value of an enclosing region, loaded per run
    captured_.push_back(value);
    captured_registers_.push_back(r);
    captured_sizes_.push_back(dtype_size(t.dtype));
    return r;
  };
  auto type_of = [&](int value) -> const TensorType& { return fn.values[value].type; };

  for (const ir::Op& op : region.ops) {
    if (op.kind == OpKind::kReturn) {
      for (int v : op.operands) results_.push_back(reg(op, v));
      break;
    }
    for (int r : op.results) {
      if (!type_of(r).dims.empty()) ir::op_error(op, "inside a reduce/scatter body must produce scalars");
    }
    Instr in{};
    std::vector<int> operand_regs;
    for (int v : op.operands) operand_regs.push_back(reg(op, v));
    const DType out_dtype = type_of(op.results.empty() ? 0 : op.results[0]).dtype;
    in.elem_size = dtype_size(out_dtype);
    if (op.kind == OpKind::kConstant) {
      int r = new_register(op.results[0]);
      const ir::DenseData& d = *op.attr("value")->dense;
      std::memcpy(&initial_[r], d.bytes.data(), dtype_size(d.type.dtype));
      continue;
    }
    if (ir::is_unary_elementwise(op.kind) || op.kind == OpKind::kConvert) {
      DType in_dtype = type_of(op.operands[0]).dtype;
      in.kind = Kind::kUnary;
      in.unary = op.kind == OpKind::kConvert ? convert_kernel(in_dtype, out_dtype) : unary_kernel(op.kind, in_dtype);
    } else if (ir::is_binary_elementwise(op.kind) || op.kind == OpKind::kCompare) {
      DType in_dtype = type_of(op.operands[0]).dtype;
      in.kind = Kind::kBinary;
      in.binary = op.kind == OpKind::kCompare
                      ? compare_kernel(ir::compare_direction(op), ir::compare_type(op), in_dtype)
                      : binary_kernel(op.kind, in_dtype);
    } else if (op.kind == OpKind::kSelect) {
      in.kind = Kind::kSelect;
    } else if (op.kind == OpKind::kClamp) {
      in.kind = Kind::kClamp;
      in.clamp = clamp_kernel(out_dtype);
    } else if (op.kind == OpKind::kReshape || op.kind == OpKind::kBroadcastInDim ||
               op.kind == OpKind::kBitcastConvert || op.kind == OpKind::kOptimizationBarrier ||
               op.kind == OpKind::kTranspose) {
      in.kind = Kind::kCopy;
    } else {
      ir::op_error(op, "is not supported inside a reduce/scatter body");
    }
    if ((in.kind == Kind::kUnary && !in.unary) || (in.kind == Kind::kBinary && !in.binary)) {
      ir::op_error(op, "has no kernel for its element type");
    }
    in.a = operand_regs.size() > 0 ? operand_regs[0] : 0;
    in.b = operand_regs.size() > 1 ? operand_regs[1] : 0;
    in.c = operand_regs.size() > 2 ? operand_regs[2] : 0;
    if (op.kind == OpKind::kOptimizationBarrier) {
      // Several results, each a copy of its operand.
      for (size_t i = 0; i < op.results.size(); ++i) {
        Instr copy = in;
        copy.a = operand_regs[i];
        copy.elem_size = dtype_size(type_of(op.results[i]).dtype);
        copy.out = new_register(op.results[i]);
        code_.push_back(copy);
      }
      continue;
    }
    in.out = new_register(op.results[0]);
    code_.push_back(in);
  }
}

void ScalarProgram::load_captured(const RunContext& ctx, uint64_t* regs) const {
  for (size_t i = 0; i < captured_.size(); ++i) {
    std::memcpy(&regs[captured_registers_[i]], ctx.in(captured_[i]), captured_sizes_[i]);
  }
}

void ScalarProgram::run(uint64_t* regs) const {
  for (const Instr& in : code_) {
    switch (in.kind) {
      case Kind::kUnary: in.unary(&regs[in.a], &regs[in.out], 1); break;
      case Kind::kBinary: in.binary(&regs[in.a], &regs[in.b], &regs[in.out], 1); break;
      case Kind::kSelect:
        std::memcpy(&regs[in.out], *reinterpret_cast<const bool*>(&regs[in.a]) ? &regs[in.b] : &regs[in.c], 8);
        break;
      case Kind::kClamp: in.clamp(&regs[in.a], 0, &regs[in.b], &regs[in.c], 0, &regs[in.out], 1); break;
      case Kind::kCopy: regs[in.out] = regs[in.a]; break;
    }
  }
}

}  // namespace grpo::cpu
