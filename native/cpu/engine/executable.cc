// compile(): parse, type-check, then plan every block (liveness -> release points and in-place candidates) into
// Steps. run(): bind the arguments, walk the steps, hand the results back without aliasing anything the caller
// still owns.
#include <algorithm>
#include <set>
#include <unordered_map>

#include "attrs.h"
#include "reduce_runners.h"
#include "steps.h"

namespace grpo::cpu {

namespace {

using ir::OpKind;

void collect_free_values(const ir::Region& r, std::set<int>* defined, std::set<int>* free) {
  for (int a : r.args) defined->insert(a);
  for (const ir::Op& op : r.ops) {
    for (int v : op.operands) {
      if (!defined->count(v)) free->insert(v);
    }
    for (const ir::Region& sub : op.regions) collect_free_values(sub, defined, free);
    for (int v : op.results) defined->insert(v);
  }
}

// Values of enclosing blocks that an op's regions read.
std::set<int> captures_of(const ir::Op& op) {
  std::set<int> defined, free;
  for (const ir::Region& r : op.regions) collect_free_values(r, &defined, &free);
  return free;
}

// while: the carried buffers move between iterations; a carried value that nobody else holds can be updated in
// place by the body (a KV cache written by dynamic_update_slice, for example).
struct WhileStep : Step {
  Block cond, body;

  void execute(RunContext& ctx) const override {
    const size_t n = inputs.size();
    std::vector<Buf*> carry(n);
    for (size_t i = 0; i < n; ++i) {
      carry[i] = ctx.buf(inputs[i]);
      ++carry[i]->refs;
    }
    for (size_t i = 0; i < n; ++i) {
      if (input_dies[i]) ctx.release(inputs[i]);  // the loop now holds the only reference
    }
    while (true) {
      for (size_t i = 0; i < n; ++i) ctx.bind(cond.args[i], carry[i]);
      ctx.run_block(cond);
      const bool go = *static_cast<const bool*>(ctx.in(cond.returns[0]));
      for (int v : cond.release_at_end) ctx.release(v);
      if (!go) break;
      for (size_t i = 0; i < n; ++i) {
        ctx.bind(body.args[i], carry[i]);
        ctx.unref(carry[i]);
      }
      ctx.run_block(body);
      for (size_t i = 0; i < n; ++i) {
        carry[i] = ctx.buf(body.returns[i]);
        ++carry[i]->refs;
      }
      for (int v : body.release_at_end) ctx.release(v);
    }
    for (size_t i = 0; i < n; ++i) {
      ctx.bind(outputs[i], carry[i]);
      ctx.unref(carry[i]);
    }
  }
};

class Planner {
 public:
  explicit Planner(const ir::Function& fn) : fn_(fn) {}

  Block compile_block(const ir::Region& region) {
    Block block;
    block.args = region.args;
    const size_t terminator = region.ops.size() - 1;
    std::set<int> owned(region.args.begin(), region.args.end());
    for (const ir::Op& op : region.ops) owned.insert(op.results.begin(), op.results.end());
    std::vector<std::set<int>> captures(region.ops.size());
    for (size_t j = 0; j < region.ops.size(); ++j) captures[j] = captures_of(region.ops[j]);
    const Fusions fusions = find_fusions(region, captures);
    auto operands_of = [&](size_t j) -> const std::vector<int>& {
      auto it = fusions.operands.find(j);
      return it == fusions.operands.end() ? region.ops[j].operands : it->second;
    };
    std::unordered_map<int, size_t> last_use;
    for (size_t j = 0; j < region.ops.size(); ++j) {
      if (fusions.skip[j]) continue;
      for (int v : operands_of(j)) {
        if (owned.count(v)) last_use[v] = j;
      }
      for (int v : captures[j]) {
        if (owned.count(v)) last_use[v] = j;
      }
    }
    for (int a : region.args) {
      if (!last_use.count(a)) block.release_at_entry.push_back(a);
    }
    for (size_t j = 0; j < terminator; ++j) {
      if (fusions.skip[j]) continue;
      ir::Op rewritten;
      if (fusions.operands.count(j)) {
        rewritten.name = region.ops[j].name;
        rewritten.kind = region.ops[j].kind;
        rewritten.loc = region.ops[j].loc;
        rewritten.operands = operands_of(j);
        rewritten.results = region.ops[j].results;
        rewritten.attr_names = region.ops[j].attr_names;
        rewritten.attr_values = region.ops[j].attr_values;
        rewritten.regions = region.ops[j].regions;
      }
      const ir::Op& op = fusions.operands.count(j) ? rewritten : region.ops[j];
      std::unique_ptr<Step> step;
      if (fusions.positional_index.count(j)) step = make_reduce_step(fn_, op, true);
      else if (auto b = fusions.broadcast.find(j); b != fusions.broadcast.end())
        step = make_broadcast_binary_step(fn_, op, b->second);
      else step = compile_op(op);
      step->op_name = op.name;
      step->loc = op.loc;
      step->inputs = op.operands;
      step->outputs = op.results;
      std::set<int> released;
      for (int v : op.operands) {
        bool dies = owned.count(v) && last_use[v] == j && !captures[j].count(v);
        step->input_dies.push_back(dies);
        if (owned.count(v) && last_use[v] == j) released.insert(v);
      }
      for (int v : captures[j]) {
        if (owned.count(v) && last_use[v] == j) released.insert(v);
      }
      for (int v : op.results) {
        if (!last_use.count(v)) released.insert(v);  // never read
      }
      step->release_after.assign(released.begin(), released.end());
      block.steps.push_back(std::move(step));
    }
    const ir::Op& ret = region.ops[terminator];
    block.returns = ret.operands;
    std::set<int> at_end;
    for (int v : ret.operands) {
      if (owned.count(v)) at_end.insert(v);
    }
    block.release_at_end.assign(at_end.begin(), at_end.end());
    return block;
  }

 private:
  const ir::Function& fn_;

  struct Fusions {
    std::vector<uint8_t> skip;                                // ops that run inside another op's step
    std::unordered_map<size_t, std::vector<int>> operands;  // ops that read a fused op's input instead
    std::set<size_t> positional_index;                       // select-style reduces whose iota index was dropped
    std::unordered_map<size_t, BroadcastOperand> broadcast;  // binary ops that read a broadcast's source
  };

  // convert(bf16 -> f32) read only by dot_generals of the same block: each dot reads the bf16 value itself, so
  // a weight is never widened whole (the dot's kernels widen it in registers or in panels). XLA fuses the same.
  // A train step reads each frozen weight twice, in the forward dot and in the backward one for the input's
  // cotangent; with one reader required, those converts were kept and every bf16 weight of the 1B model lived
  // as an f32 copy from the forward pass to the backward one.
  Fusions find_fusions(const ir::Region& region, const std::vector<std::set<int>>& captures) const {
    Fusions f;
    f.skip.assign(region.ops.size(), 0);
    std::unordered_map<int, std::vector<size_t>> readers;
    for (size_t j = 0; j < region.ops.size(); ++j) {
      for (int v : region.ops[j].operands) readers[v].push_back(j);
      for (int v : captures[j]) readers[v].push_back(j);
    }
    for (size_t j = 0; j < region.ops.size(); ++j) {
      const ir::Op& op = region.ops[j];
      if (op.kind != OpKind::kConvert || value_type(fn_, op.operands[0]).dtype != DType::kBF16 ||
          value_type(fn_, op.results[0]).dtype != DType::kF32) {
        continue;
      }
      const auto& users = readers[op.results[0]];
      const bool dots_only = !users.empty() && std::all_of(users.begin(), users.end(), [&](size_t u) {
        return region.ops[u].kind == OpKind::kDotGeneral;
      });
      if (!dots_only) continue;
      for (const size_t dot : users) {
        if (!f.operands.count(dot)) f.operands[dot] = region.ops[dot].operands;
        for (int& v : f.operands[dot]) {
          if (v == op.results[0]) v = op.operands[0];
        }
      }
      f.skip[j] = 1;
    }
    // iota along the one reduced dim, read only as the index operand of a select-style reduce (argmax): the
    // reduce takes each element's index from its position, so the [B, V] index tensor is never written.
    for (size_t j = 0; j < region.ops.size(); ++j) {
      const ir::Op& op = region.ops[j];
      if (op.kind != OpKind::kIota) continue;
      const int iota = op.results[0];
      const auto& users = readers[iota];
      if (users.size() != 1 || region.ops[users[0]].kind != OpKind::kReduce) continue;
      const size_t red = users[0];
      const ir::Op& reduce = region.ops[red];
      if (reduce.operands.size() != 4 || reduce.operands[1] != iota || reduce.operands[0] == iota) continue;
      if (value_type(fn_, reduce.operands[0]).dims != value_type(fn_, iota).dims) continue;
      const std::vector<int64_t> dims = ir::int_list_attr(reduce, "dimensions");
      if (dims.size() != 1 || dims[0] != ir::int_attr(op, "iota_dimension")) continue;
      if (!make_select_reduce(fn_, reduce, true)) continue;
      f.operands[red] = reduce.operands;
      f.operands[red][1] = reduce.operands[0];
      f.positional_index.insert(red);
      f.skip[j] = 1;
    }
    // broadcast_in_dim read only by binary elementwise ops or compares (each reading it as one operand), in one
    // of two row forms (a row's scale or shift [B, 1] -> [B, V], a scalar as one row; a weight vector [D] ->
    // [B, D]): each op reads the source, so the broadcast array is never written (one fewer pass over [B, V] in
    // the sampler's log-softmax, one fewer op per norm in a layer). At first only a broadcast with one reader was
    // read in place; a train step's GeGLU constants are each read by several ops of the forward and backward
    // passes, and their [tokens, 6912] broadcasts took about a third of the 1B update's non-dot time.
    for (size_t j = 0; j < region.ops.size(); ++j) {
      const ir::Op& op = region.ops[j];
      if (op.kind != OpKind::kBroadcastInDim) continue;
      const auto& users = readers[op.results[0]];
      if (users.empty()) continue;
      BroadcastOperand b = classify_broadcast_operand(fn_, op);
      if (b.kind == BroadcastOperand::kNone) continue;
      std::set<size_t> seen;
      bool all_read_in_place = true;
      for (size_t u : users) {
        const ir::Op& user = region.ops[u];
        all_read_in_place = all_read_in_place && seen.insert(u).second && !f.broadcast.count(u) &&
                            !f.operands.count(u) &&
                            (ir::is_binary_elementwise(user.kind) || user.kind == OpKind::kCompare) &&
                            user.operands.size() == 2 && user.regions.empty();
      }
      if (!all_read_in_place) continue;
      for (size_t u : users) {
        const ir::Op& user = region.ops[u];
        BroadcastOperand reader = b;
        reader.position = user.operands[0] == op.results[0] ? 0 : 1;
        f.operands[u] = user.operands;
        f.operands[u][reader.position] = op.operands[0];
        f.broadcast[u] = reader;
      }
      f.skip[j] = 1;
    }
    return f;
  }

  std::unique_ptr<Step> compile_op(const ir::Op& op) {
    const OpKind k = op.kind;
    if (ir::is_unary_elementwise(k) || ir::is_binary_elementwise(k)) return make_elementwise_step(fn_, op);
    switch (k) {
      case OpKind::kCompare: case OpKind::kSelect: case OpKind::kClamp: case OpKind::kConvert:
      case OpKind::kBitcastConvert:
        return make_elementwise_step(fn_, op);
      case OpKind::kReduce: return make_reduce_step(fn_, op);
      case OpKind::kDotGeneral: return make_dot_step(fn_, op);
      case OpKind::kGather: return make_gather_step(fn_, op);
      case OpKind::kScatter: return make_scatter_step(fn_, op);
      case OpKind::kWhile: {
        auto step = std::make_unique<WhileStep>();
        step->cond = compile_block(op.regions[0]);
        step->body = compile_block(op.regions[1]);
        return step;
      }
      case OpKind::kReturn: ir::op_error(op, "may only end a region");
      default: return make_layout_step(fn_, op);
    }
  }
};

int64_t count_steps(const Block& b) {
  int64_t n = int64_t(b.steps.size());
  for (const auto& s : b.steps) {
    if (auto* w = dynamic_cast<const WhileStep*>(s.get())) n += count_steps(w->cond) + count_steps(w->body);
  }
  return n;
}

class CompiledExecutable : public Executable {
 public:
  explicit CompiledExecutable(ir::Function fn) : fn_(std::move(fn)) {
    for (int p : fn_.params) parameter_types_.push_back(fn_.values[p].type);
    result_types_ = fn_.result_types;
    aliases_.assign(result_types_.size(), -1);
    for (size_t i = 0; i < fn_.param_aliases.size(); ++i) {
      int k = fn_.param_aliases[i];
      if (k >= 0 && aliases_[k] < 0) aliases_[k] = int(i);
    }
    main_ = Planner(fn_).compile_block(fn_.body);
    // The value each aliased result is computed into, looking through zero-copy reshapes.
    std::unordered_map<int, const ir::Op*> producer;
    for (const ir::Op& op : fn_.body.ops) {
      for (int r : op.results) producer[r] = &op;
    }
    for (int v : main_.returns) {
      while (producer.count(v)) {
        const ir::Op* op = producer[v];
        if (op->kind != OpKind::kReshape && op->kind != OpKind::kBitcastConvert) break;
        v = op->operands[0];
      }
      result_home_.push_back(v);
    }
    code_size_ = 256 * count_steps(main_);
    for (const ir::Op& op : fn_.body.ops) {
      if (const ir::Attribute* a = op.attr("value"); a && a->dense) code_size_ += int64_t(a->dense->bytes.size());
    }
  }

  const std::string& name() const override { return fn_.name; }
  const std::vector<TensorType>& parameter_types() const override { return parameter_types_; }
  const std::vector<TensorType>& result_types() const override { return result_types_; }
  const std::vector<int>& result_aliases() const override { return aliases_; }
  int64_t code_size_bytes() const override { return code_size_; }

  std::vector<Tensor> run(const std::vector<Tensor>& args, const std::vector<bool>& donated_in) override {
    const size_t np = fn_.params.size();
    if (args.size() != np) {
      throw ExecuteError("@" + fn_.name + " takes " + std::to_string(np) + " arguments, got " +
                         std::to_string(args.size()));
    }
    if (!donated_in.empty() && donated_in.size() != np) throw ExecuteError("donated flags must match the arguments");
    std::vector<bool> donated = donated_in.empty() ? std::vector<bool>(np, false) : donated_in;
    for (size_t i = 0; i < np; ++i) {
      if (!(args[i].type == parameter_types_[i])) {
        throw ExecuteError("argument " + std::to_string(i) + " is " + args[i].type.to_string() + " but @" + fn_.name +
                           " expects " + parameter_types_[i].to_string());
      }
      if (!args[i].storage || args[i].storage->size() < parameter_types_[i].byte_size()) {
        throw ExecuteError("argument " + std::to_string(i) + " has no storage of " +
                           std::to_string(parameter_types_[i].byte_size()) + " bytes");
      }
    }
    // A buffer passed twice is never written in place, donated or not.
    for (size_t i = 0; i < np; ++i) {
      for (size_t j = 0; j < np && donated[i]; ++j) {
        if (j != i && args[j].storage == args[i].storage) donated[i] = false;
      }
    }
    RunContext ctx(fn_.values.size());
    for (size_t k = 0; k < aliases_.size(); ++k) {
      int i = aliases_[k];
      if (i < 0 || !donated[i]) continue;
      ctx.donation_targets.push_back(DonationTarget{result_home_[k], nullptr});
      ctx.donation_waiting.emplace_back(fn_.params[i], result_home_[k]);
    }
    for (size_t i = 0; i < np; ++i) {
      Buf* b = ctx.new_buf(args[i].storage, donated[i]);
      if (donated[i]) b->donated_param = fn_.params[i];
      ctx.bind(fn_.params[i], b);
    }
    ctx.run_block(main_);
    return collect_results(ctx, args, donated);
  }

 private:
  ir::Function fn_;
  Block main_;
  std::vector<TensorType> parameter_types_, result_types_;
  std::vector<int> aliases_;
  std::vector<int> result_home_;
  int64_t code_size_ = 0;

  // Results never share storage with each other, with arguments the caller keeps, or with constants: the
  // caller may later donate any of them. An aliased result goes into its donated argument's storage.
  std::vector<Tensor> collect_results(RunContext& ctx, const std::vector<Tensor>& args,
                                      const std::vector<bool>& donated) {
    const size_t nr = main_.returns.size();
    std::vector<Tensor> out(nr);
    std::vector<const Storage*> taken;
    auto is_taken = [&](const Storage* s) { return std::find(taken.begin(), taken.end(), s) != taken.end(); };
    auto copy_of = [](const Storage& src, size_t bytes) {
      auto s = std::make_shared<Storage>(bytes, Storage::Uninitialized{});
      if (bytes) std::memcpy(s->data(), src.data(), bytes);
      return s;
    };
    for (size_t k = 0; k < nr; ++k) {
      const Buf* b = ctx.buf(main_.returns[k]);
      const size_t bytes = result_types_[k].byte_size();
      std::shared_ptr<Storage> st = b->storage;
      const int param = aliases_[k];
      if (param >= 0 && donated[param] && st != args[param].storage) {
        const std::shared_ptr<Storage>& target = args[param].storage;
        bool busy = is_taken(target.get());
        for (size_t j = 0; j < nr && !busy; ++j) busy = j != k && ctx.buf(main_.returns[j])->storage == target;
        if (!busy) {
          if (bytes) std::memcpy(target->data(), st->data(), bytes);
          st = target;
        } else if (!b->writable || is_taken(st.get())) {
          st = copy_of(*st, bytes);
        }
      } else if (!b->writable || is_taken(st.get())) {
        st = copy_of(*st, bytes);
      }
      taken.push_back(st.get());
      out[k] = Tensor{result_types_[k], std::move(st)};
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Executable> compile(const std::string& mlir_text, const StablehloVersion& stablehlo) {
  ir::Function fn = ir::parse_module(mlir_text);
  ir::check_stablehlo_version(fn, stablehlo);
  ir::type_check(fn);
  return std::make_unique<CompiledExecutable>(std::move(fn));
}

}  // namespace grpo::cpu
