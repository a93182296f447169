// A recursive-descent parser for the generic-syntax StableHLO our emitter prints. It works on characters
// rather than a token stream so every error can name the exact line and column.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <stdexcept>
#include <unordered_map>

#include "dense.h"
#include "ir.h"

namespace grpo::cpu::ir {

namespace {

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c) || c == '.' || c == '$'; }
bool is_suffix_char(char c) { return is_ident_char(c) || c == '-'; }

// Text from the module quoted in an error: control bytes (a NUL would cut the message short) as \xNN.
std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  Function parse_module() {
    std::vector<Function> functions;
    skip_ws();
    bool wrapped = false;
    if (try_word("module")) {
      wrapped = true;
      skip_ws();
      if (peek() == '@') parse_symbol();
      if (try_word("attributes")) parse_dict();
      expect_char('{');
    }
    while (true) {
      skip_ws();
      if (wrapped && peek() == '}') {
        ++pos_;
        break;
      }
      if (!wrapped && at_end()) break;
      if (!try_word("func.func")) expected(wrapped ? "'func.func' or '}'" : "'func.func'");
      functions.push_back(parse_function());
    }
    skip_loc();
    skip_ws();
    if (!at_end()) expected("end of input");
    if (functions.empty()) fail_at(pos_, "the module has no function");
    for (Function& f : functions) {
      if (f.name == "main") return std::move(f);
    }
    if (functions.size() == 1) return std::move(functions[0]);
    fail_at(0, "the module has several functions but none is @main");
  }

 private:
  using Scope = std::unordered_map<std::string, std::pair<int, int>>;  // name -> (first value id, count)

  const std::string& text_;
  size_t pos_ = 0;
  std::vector<size_t> line_starts_;
  Function* fn_ = nullptr;
  std::vector<Scope> scopes_;
  int depth_ = 0;

  // Held by each recursive production (attribute, dense list, region): deeply nested text must fail with a
  // CompileError, not overflow the stack of the thread that compiles.
  static constexpr int kMaxNesting = 256;
  class Nesting {
   public:
    explicit Nesting(Parser& parser) : parser_(parser) {
      if (++parser_.depth_ > kMaxNesting) {
        parser_.fail_at(parser_.pos_, "nesting deeper than " + std::to_string(kMaxNesting) + " levels");
      }
    }
    ~Nesting() { --parser_.depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    Parser& parser_;
  };

  // ---- positions and errors ----
  SourceLoc loc_at(size_t pos) const {
    size_t line = std::upper_bound(line_starts_.begin(), line_starts_.end(), pos) - line_starts_.begin();
    return SourceLoc{int(line), int(pos - line_starts_[line - 1] + 1)};
  }
  [[noreturn]] void fail_at(size_t pos, const std::string& message) const {
    throw CompileError(where(loc_at(pos)) + ": " + message);
  }
  std::string describe_here() const {
    if (pos_ >= text_.size()) return "end of input";
    char c = text_[pos_];
    if (c == '"') {
      size_t end = text_.find('"', pos_ + 1);
      std::string s = text_.substr(pos_, end == std::string::npos ? 20 : std::min<size_t>(end - pos_ + 1, 40));
      return s;
    }
    if (is_suffix_char(c) || c == '%' || c == '@' || c == '^' || c == '#') {
      size_t end = pos_ + 1;
      while (end < text_.size() && is_suffix_char(text_[end])) ++end;
      return "'" + text_.substr(pos_, end - pos_) + "'";
    }
    if (c == '\n') return "end of line";
    return std::string("'") + c + "'";
  }
  [[noreturn]] void expected(const std::string& what) {
    skip_ws();
    fail_at(pos_, "expected " + what + " but found " + describe_here());
  }

  // ---- characters ----
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  char peek_at(size_t offset) const { return pos_ + offset < text_.size() ? text_[pos_ + offset] : '\0'; }
  void skip_ws() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '/' && peek_at(1) == '/') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }
  bool try_char(char c) {
    skip_ws();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect_char(char c) {
    if (!try_char(c)) expected(std::string("'") + c + "'");
  }
  bool try_word(std::string_view word) {
    skip_ws();
    if (text_.compare(pos_, word.size(), word) != 0) return false;
    char next = pos_ + word.size() < text_.size() ? text_[pos_ + word.size()] : '\0';
    if (is_ident_char(next)) return false;
    pos_ += word.size();
    return true;
  }
  std::string parse_ident(const char* what = "an identifier") {
    skip_ws();
    if (!is_ident_start(peek())) expected(what);
    size_t start = pos_;
    while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  std::string parse_symbol() {
    skip_ws();
    if (peek() != '@') expected("'@'");
    ++pos_;
    if (peek() == '"') return parse_string();
    size_t start = pos_;
    while (pos_ < text_.size() && is_suffix_char(text_[pos_])) ++pos_;
    if (start == pos_) expected("a symbol name");
    return text_.substr(start, pos_ - start);
  }
  std::string parse_string() {
    skip_ws();
    if (peek() != '"') expected("a string");
    size_t start = pos_++;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      out += text_[pos_++];
    }
    if (at_end()) fail_at(start, "unterminated string");
    ++pos_;
    return out;
  }
  std::string parse_ssa_name() {
    skip_ws();
    if (peek() != '%') expected("a value name like '%0'");
    size_t start = pos_++;
    while (pos_ < text_.size() && is_suffix_char(text_[pos_])) ++pos_;
    if (pos_ == start + 1) fail_at(start, "expected a value name after '%'");
    return text_.substr(start, pos_ - start);
  }
  int64_t parse_int() {
    skip_ws();
    size_t start = pos_;
    if (peek() == '-') ++pos_;
    if (!is_digit(peek())) {
      pos_ = start;
      expected("an integer");
    }
    while (is_digit(peek())) ++pos_;
    return to_int64(start, pos_);
  }
  // The decimal integer text_[start, end), or a CompileError if it does not fit in 64 bits.
  int64_t to_int64(size_t start, size_t end) const {
    int64_t value = 0;
    auto [stop, status] = std::from_chars(text_.data() + start, text_.data() + end, value);
    if (status != std::errc() || stop != text_.data() + end) {
      fail_at(start, "integer " + text_.substr(start, end - start) + " is out of range");
    }
    return value;
  }
  // An integer attribute literal: decimal (a leading 0 is still decimal, as in MLIR) or 0x hex, optionally
  // negative, within int64. Magnitudes are accumulated unsigned so -2^63 parses and nothing wraps.
  int64_t literal_int64(size_t at, const std::string& lit) const {
    const bool negative = lit[0] == '-';
    size_t i = (negative || lit[0] == '+') ? 1 : 0;
    unsigned base = 10;
    if (lit.size() > i + 1 && lit[i] == '0' && (lit[i + 1] == 'x' || lit[i + 1] == 'X')) {
      base = 16;
      i += 2;
    }
    uint64_t magnitude = 0;
    auto [stop, status] = std::from_chars(lit.data() + i, lit.data() + lit.size(), magnitude, int(base));
    const uint64_t limit = negative ? uint64_t(1) << 63 : uint64_t(INT64_MAX);
    if (i == lit.size() || stop != lit.data() + lit.size()) fail_at(at, "invalid integer " + lit);
    if (status != std::errc() || magnitude > limit) fail_at(at, "number " + lit + " is out of range for i64");
    return negative ? int64_t(0 - magnitude) : int64_t(magnitude);
  }
  // A numeric or boolean literal as text: -1, 2.5e-03, 0xFF800000, true.
  std::string parse_literal() {
    skip_ws();
    size_t start = pos_;
    if (try_word("true") || try_word("false")) return text_.substr(start, pos_ - start);
    if (peek() == '-' || peek() == '+') ++pos_;
    if (!is_digit(peek())) {
      pos_ = start;
      expected("a number");
    }
    if (peek() == '0' && (peek_at(1) == 'x' || peek_at(1) == 'X')) {
      pos_ += 2;
      while (std::isxdigit(static_cast<unsigned char>(peek()))) ++pos_;
    } else {
      while (is_digit(peek())) ++pos_;
      if (peek() == '.') {
        ++pos_;
        while (is_digit(peek())) ++pos_;
      }
      if (peek() == 'e' || peek() == 'E') {
        ++pos_;
        if (peek() == '+' || peek() == '-') ++pos_;
        while (is_digit(peek())) ++pos_;
      }
    }
    return text_.substr(start, pos_ - start);
  }
  void skip_balanced(char open, char close) {
    size_t start = pos_;
    int depth = 0;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '"') {
        parse_string();
        continue;
      }
      if (c == '-' && peek_at(1) == '>') {
        pos_ += 2;
        continue;
      }
      if (c == open) ++depth;
      if (c == close && --depth == 0) {
        ++pos_;
        return;
      }
      ++pos_;
    }
    fail_at(start, std::string("unbalanced '") + open + "'");
  }
  void skip_loc() {
    skip_ws();
    if (text_.compare(pos_, 4, "loc(") == 0) {
      pos_ += 3;
      skip_balanced('(', ')');
    }
  }

  // ---- types ----
  TensorType parse_type() {
    skip_ws();
    size_t start = pos_;
    if (!try_word("tensor")) {
      if (is_ident_start(peek())) fail_at(start, "unsupported type '" + parse_ident() + "' (only tensor types)");
      expected("a tensor type");
    }
    expect_char('<');
    TensorType type;
    while (true) {
      skip_ws();
      if (peek() == '?' || peek() == '*') fail_at(pos_, "dynamic shapes are not supported");
      if (!is_digit(peek())) break;
      size_t dim_start = pos_;
      while (is_digit(peek())) ++pos_;
      type.dims.push_back(to_int64(dim_start, pos_));
      if (peek() != 'x') expected("'x'");
      ++pos_;
    }
    size_t elem_pos = pos_;
    std::string elem = parse_ident("an element type");
    static const std::unordered_map<std::string, DType> kTypes = {
        {"f32", DType::kF32}, {"bf16", DType::kBF16}, {"i1", DType::kPred},
        {"i32", DType::kS32}, {"i64", DType::kS64},   {"ui32", DType::kU32}};
    auto it = kTypes.find(elem);
    if (it == kTypes.end()) fail_at(elem_pos, "unsupported element type '" + elem + "'");
    type.dtype = it->second;
    skip_ws();
    if (peek() == ',') fail_at(pos_, "tensor encodings are not supported");
    expect_char('>');
    std::string size_error = tensor_size_error(type);
    if (!size_error.empty()) fail_at(start, size_error);
    return type;
  }
  std::vector<TensorType> parse_type_list() {
    std::vector<TensorType> types;
    expect_char('(');
    if (try_char(')')) return types;
    do {
      types.push_back(parse_type());
    } while (try_char(','));
    expect_char(')');
    return types;
  }

  // ---- attributes ----
  Attribute parse_dense() {
    Attribute a;
    a.kind = Attribute::Kind::kDense;
    expect_char('<');
    size_t body_pos = (skip_ws(), pos_);
    std::string hex;
    std::vector<std::pair<std::string, size_t>> literals;
    bool is_list = false;
    if (peek() == '"') {
      hex = parse_string();
    } else if (peek() == '[') {
      is_list = true;
      parse_dense_list(&literals);
    } else if (peek() != '>') {
      skip_ws();
      literals.emplace_back(parse_literal(), pos_);
      literals.back().second = body_pos;
    } else {
      is_list = true;  // dense<> is an empty list
    }
    expect_char('>');
    expect_char(':');
    auto data = std::make_shared<DenseData>();
    data->type = parse_type();
    const TensorType& type = data->type;
    if (!hex.empty() || (!is_list && literals.empty())) {
      std::string err = decode_hex_blob(hex, type, data.get());
      if (!err.empty()) fail_at(body_pos, err);
    } else {
      const size_t elem = dtype_size(type.dtype);
      const int64_t count = type.num_elements();
      data->splat = !is_list;
      if (is_list && int64_t(literals.size()) != count) {
        fail_at(body_pos, "dense literal has " + std::to_string(literals.size()) + " elements but " +
                              type.to_string() + " needs " + std::to_string(count));
      }
      data->bytes.resize(literals.size() * elem);
      for (size_t i = 0; i < literals.size(); ++i) {
        std::string err = encode_scalar(type.dtype, literals[i].first, data->bytes.data() + i * elem);
        if (!err.empty()) fail_at(literals[i].second, err);
      }
    }
    a.dense = std::move(data);
    return a;
  }
  void parse_dense_list(std::vector<std::pair<std::string, size_t>>* out) {
    Nesting nesting(*this);
    expect_char('[');
    if (try_char(']')) return;
    do {
      skip_ws();
      if (peek() == '[') {
        parse_dense_list(out);
      } else {
        size_t at = pos_;
        out->emplace_back(parse_literal(), at);
      }
    } while (try_char(','));
    expect_char(']');
  }
  // #stablehlo.dot<a = [0], b = 1>: fields of integers or integer lists.
  Attribute parse_struct_body(const std::string& name) {
    Attribute a;
    a.kind = Attribute::Kind::kStruct;
    a.text = name;
    expect_char('<');
    if (try_char('>')) return a;
    do {
      a.names.push_back(parse_ident("a field name"));
      expect_char('=');
      a.items.push_back(parse_attribute());
    } while (try_char(','));
    expect_char('>');
    return a;
  }
  Attribute parse_hash_attribute() {
    Attribute a;
    ++pos_;  // '#'
    size_t start = pos_;
    while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
    std::string name = text_.substr(start, pos_ - start);
    if (peek() != '<') {
      a.kind = Attribute::Kind::kOther;
      a.text = name;
      return a;
    }
    if (name == "stablehlo.dot" || name == "stablehlo.gather" || name == "stablehlo.scatter") {
      return parse_struct_body(name);
    }
    size_t body = pos_;
    skip_balanced('<', '>');
    std::string inner = text_.substr(body + 1, pos_ - body - 2);
    while (!inner.empty() && inner.back() == ' ') inner.pop_back();
    while (!inner.empty() && inner.front() == ' ') inner.erase(inner.begin());
    a.kind = name == "stablehlo" ? Attribute::Kind::kEnum : Attribute::Kind::kOther;
    a.text = inner;
    return a;
  }
  Attribute parse_attribute() {
    skip_ws();
    Nesting nesting(*this);
    Attribute a;
    a.loc = loc_at(pos_);
    char c = peek();
    if (c == '"') {
      a.kind = Attribute::Kind::kString;
      a.text = parse_string();
    } else if (c == '[') {
      ++pos_;
      a.kind = Attribute::Kind::kList;
      if (!try_char(']')) {
        do {
          a.items.push_back(parse_attribute());
        } while (try_char(','));
        expect_char(']');
      }
    } else if (c == '{') {
      Attribute d = parse_dict();
      d.loc = a.loc;
      return d;
    } else if (c == '#') {
      SourceLoc loc = a.loc;
      a = parse_hash_attribute();
      a.loc = loc;
    } else if (c == '@') {
      a.kind = Attribute::Kind::kOther;
      a.text = parse_symbol();
    } else if (c == '-' || is_digit(c)) {
      const size_t literal_at = pos_;
      std::string lit = parse_literal();
      bool is_float_literal = lit.find_first_of(".eE") != std::string::npos && lit.find("0x") == std::string::npos &&
                                lit.find("0X") == std::string::npos;
      try {
        if (is_float_literal) {
          a.kind = Attribute::Kind::kFloat;
          a.floating = std::stod(lit);
        } else {
          a.kind = Attribute::Kind::kInteger;
          a.integer = literal_int64(literal_at, lit);
        }
      } catch (const std::out_of_range&) {
        fail_at(literal_at, "number " + lit + " is out of range");
      }
      if (try_char(':')) skip_type_like();
    } else if (is_ident_start(c)) {
      size_t start = pos_;
      std::string word = parse_ident();
      if (word == "true" || word == "false") {
        a.kind = Attribute::Kind::kBool;
        a.boolean = word == "true";
      } else if (word == "unit") {
        a.kind = Attribute::Kind::kUnit;
      } else if (word == "array") {
        expect_char('<');
        parse_ident("an element type");
        a.kind = Attribute::Kind::kIntArray;
        if (try_char(':')) {
          do {
            a.ints.push_back(parse_int());
          } while (try_char(','));
        }
        expect_char('>');
      } else if (word == "dense") {
        Attribute d = parse_dense();
        d.loc = a.loc;
        return d;
      } else {
        pos_ = start;
        skip_type_like();
        a.kind = Attribute::Kind::kOther;
        a.text = text_.substr(start, pos_ - start);
      }
    } else {
      expected("an attribute value");
    }
    return a;
  }
  void skip_type_like() {
    parse_ident("a type");
    if (peek() == '<') skip_balanced('<', '>');
  }
  Attribute parse_dict() {
    Attribute d;
    d.kind = Attribute::Kind::kDict;
    expect_char('{');
    if (try_char('}')) return d;
    do {
      skip_ws();
      d.names.push_back(peek() == '"' ? parse_string() : parse_ident("an attribute name"));
      if (try_char('=')) {
        d.items.push_back(parse_attribute());
      } else {
        d.items.emplace_back();
        d.items.back().kind = Attribute::Kind::kUnit;
      }
    } while (try_char(','));
    expect_char('}');
    return d;
  }

  // ---- values ----
  int new_value(const std::string& name, const TensorType& type, size_t at) {
    fn_->values.push_back(Value{type, name, loc_at(at)});
    return int(fn_->values.size()) - 1;
  }
  void define(const std::string& name, int first, int count, size_t at) {
    Scope& scope = scopes_.back();
    if (scope.count(name)) fail_at(at, "redefinition of value '" + name + "'");
    scope[name] = {first, count};
  }
  int lookup_value(const std::string& name, int64_t index, bool has_index, size_t at) {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto found = it->find(name);
      if (found == it->end()) continue;
      auto [first, count] = found->second;
      if (!has_index && count != 1) {
        fail_at(at, "value '" + name + "' has " + std::to_string(count) + " results: use '" + name + "#0'");
      }
      if (index < 0 || index >= count) fail_at(at, "result number " + std::to_string(index) + " of '" + name +
                                                       "' is out of range (it has " + std::to_string(count) + ")");
      return first + index;
    }
    fail_at(at, "use of undefined value '" + name + "'");
  }
  int parse_operand() {
    skip_ws();
    size_t at = pos_;
    std::string name = parse_ssa_name();
    int64_t index = 0;
    bool has_index = false;
    if (peek() == '#') {
      ++pos_;
      has_index = true;
      if (!is_digit(peek())) expected("a result number");
      index = parse_int();
    }
    return lookup_value(name, index, has_index, at);
  }

  // `%name: tensor<..>` of a function or block: defines the value and returns its id.
  int parse_argument() {
    skip_ws();
    size_t at = pos_;
    std::string name = parse_ssa_name();
    expect_char(':');
    TensorType type = parse_type();
    int id = new_value(name, type, at);
    define(name, id, 1, at);
    return id;
  }

  // ---- functions, ops, regions ----
  Function parse_function() {
    Function f;
    fn_ = &f;
    scopes_.assign(1, Scope{});
    skip_ws();
    if (!try_word("public") && !try_word("private")) try_word("nested");
    f.name = parse_symbol();
    expect_char('(');
    if (!try_char(')')) {
      do {
        skip_ws();
        size_t at = pos_;
        f.params.push_back(parse_argument());
        int alias = -1;
        skip_ws();
        if (peek() == '{') {
          Attribute dict = parse_dict();
          if (const Attribute* a = dict.field("tf.aliasing_output")) {
            if (a->kind != Attribute::Kind::kInteger || a->integer < 0 || a->integer > INT32_MAX) {
              fail_at(at, "tf.aliasing_output must be a result number");
            }
            alias = int(a->integer);
          }
        }
        f.param_aliases.push_back(alias);
        skip_loc();
      } while (try_char(','));
      expect_char(')');
    }
    if (try_char('-')) {
      if (peek() != '>') expected("'->'");
      ++pos_;
      skip_ws();
      if (peek() == '(') {
        ++pos_;
        if (!try_char(')')) {
          do {
            f.result_types.push_back(parse_type());
            skip_ws();
            if (peek() == '{') parse_dict();
            skip_loc();
          } while (try_char(','));
          expect_char(')');
        }
      } else {
        f.result_types.push_back(parse_type());
      }
    }
    if (try_word("attributes")) parse_dict();
    skip_ws();
    size_t body_at = pos_;
    expect_char('{');
    f.body.loc = loc_at(body_at);
    parse_block_ops(&f.body, '}');
    if (f.body.ops.empty() || f.body.ops.back().kind != OpKind::kReturn) {
      fail_at(body_at, "function @" + f.name + " must end with func.return");
    }
    skip_loc();
    fn_ = nullptr;
    return f;
  }

  void parse_block_ops(Region* region, char close) {
    while (true) {
      skip_ws();
      if (peek() == close) {
        ++pos_;
        return;
      }
      if (at_end()) expected(std::string("'") + close + "'");
      region->ops.push_back(parse_op());
      if (region->ops.back().kind == OpKind::kReturn) {
        skip_ws();
        if (peek() != close) expected(std::string("'") + close + "' after the return");
      }
    }
  }

  Region parse_region() {
    Region region;
    skip_ws();
    Nesting nesting(*this);
    region.loc = loc_at(pos_);
    expect_char('{');
    scopes_.emplace_back();
    skip_ws();
    if (peek() == '^') {
      ++pos_;
      while (is_suffix_char(peek())) ++pos_;
      if (try_char('(')) {
        if (!try_char(')')) {
          do {
            region.args.push_back(parse_argument());
            skip_loc();
          } while (try_char(','));
          expect_char(')');
        }
      }
      expect_char(':');
    }
    parse_block_ops(&region, '}');
    if (region.ops.empty() || region.ops.back().kind != OpKind::kReturn) {
      fail_at(pos_ - 1, "a region must end with \"stablehlo.return\"");
    }
    scopes_.pop_back();
    return region;
  }

  Op parse_op() {
    skip_ws();
    const size_t start = pos_;
    Op op;
    op.loc = loc_at(start);
    struct ResultName {
      std::string name;
      int count;
      size_t at;
    };
    std::vector<ResultName> names;
    if (peek() == '%') {
      do {
        skip_ws();
        size_t at = pos_;
        std::string name = parse_ssa_name();
        int count = 1;
        if (peek() == ':') {
          ++pos_;
          int64_t declared_count = parse_int();
          if (declared_count < 1 || declared_count > INT32_MAX) fail_at(at, "a result count must be positive");
          count = int(declared_count);
        }
        names.push_back({name, count, at});
      } while (try_char(','));
      expect_char('=');
    }
    skip_ws();
    size_t name_at = pos_;
    if (peek() != '"') {
      if (names.empty() && (try_word("func.return") || try_word("return") || try_word("stablehlo.return"))) {
        return parse_pretty_return(op);
      }
      expected("an op name in quotes like \"stablehlo.add\"");
    }
    op.name = parse_string();
    (void)name_at;
    expect_char('(');
    std::vector<size_t> operand_pos;
    if (!try_char(')')) {
      do {
        skip_ws();
        operand_pos.push_back(pos_);
        op.operands.push_back(parse_operand());
      } while (try_char(','));
      expect_char(')');
    }
    skip_ws();
    if (peek() == '[') fail_at(pos_, "successor blocks are not supported");
    if (peek() == '(') {
      ++pos_;
      do {
        op.regions.push_back(parse_region());
      } while (try_char(','));
      expect_char(')');
    }
    skip_ws();
    if (peek() == '<' && peek_at(1) == '{') {
      ++pos_;
      take_attributes(&op, parse_dict());
      expect_char('>');
    }
    skip_ws();
    if (peek() == '{') take_attributes(&op, parse_dict());
    expect_char(':');
    skip_ws();
    size_t type_at = pos_;
    std::vector<TensorType> operand_types = parse_type_list();
    skip_ws();
    if (!(peek() == '-' && peek_at(1) == '>')) expected("'->'");
    pos_ += 2;
    skip_ws();
    std::vector<TensorType> result_types;
    if (peek() == '(') {
      result_types = parse_type_list();
    } else {
      result_types.push_back(parse_type());
    }
    skip_loc();
    if (operand_types.size() != op.operands.size()) {
      fail_at(type_at, "'" + op.name + "' has " + std::to_string(op.operands.size()) + " operands but its type lists " +
                           std::to_string(operand_types.size()));
    }
    for (size_t i = 0; i < operand_types.size(); ++i) {
      const TensorType& actual = fn_->values[op.operands[i]].type;
      if (!(actual == operand_types[i])) {
        fail_at(operand_pos[i], "operand #" + std::to_string(i) + " of '" + op.name + "' is " + actual.to_string() +
                                    " but the op's type says " + operand_types[i].to_string());
      }
    }
    int64_t declared = 0;
    for (const ResultName& r : names) declared += r.count;
    if (declared != int64_t(result_types.size())) {
      fail_at(start, "'" + op.name + "' defines " + std::to_string(declared) + " results but its type lists " +
                         std::to_string(result_types.size()));
    }
    size_t next_type = 0;
    for (const ResultName& r : names) {
      int first = int(fn_->values.size());
      for (int i = 0; i < r.count; ++i) {
        std::string name = r.count == 1 ? r.name : r.name + "#" + std::to_string(i);
        op.results.push_back(new_value(name, result_types[next_type++], r.at));
      }
      define(r.name, first, r.count, r.at);
    }
    if (!lookup_op(op.name, &op.kind)) {
      throw CompileError("unsupported op '" + printable(op.name) + "' at " + where(op.loc));
    }
    return op;
  }

  // `return %a, %b : tensor<..>, tensor<..>`
  Op parse_pretty_return(Op& op) {
    op.name = "func.return";
    op.kind = OpKind::kReturn;
    skip_ws();
    if (peek() == '%') {
      do {
        op.operands.push_back(parse_operand());
      } while (try_char(','));
      expect_char(':');
      for (size_t i = 0; i < op.operands.size(); ++i) {
        if (i) expect_char(',');
        skip_ws();
        size_t at = pos_;
        TensorType t = parse_type();
        if (!(t == fn_->values[op.operands[i]].type)) {
          fail_at(at, "return operand #" + std::to_string(i) + " is " + fn_->values[op.operands[i]].type.to_string() +
                          " but the return's type says " + t.to_string());
        }
      }
    }
    skip_loc();
    return std::move(op);
  }

  static void take_attributes(Op* op, Attribute dict) {
    for (size_t i = 0; i < dict.names.size(); ++i) {
      op->attr_names.push_back(std::move(dict.names[i]));
      op->attr_values.push_back(std::move(dict.items[i]));
    }
  }
};

}  // namespace

Function parse_module(const std::string& text) {
  Parser parser(text);
  return parser.parse_module();
}

}  // namespace grpo::cpu::ir
