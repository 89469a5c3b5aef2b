#include "core/model/torch_checkpoint.h"

#include "core/base/error.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>

namespace cm::model {
namespace {

namespace fs = std::filesystem;

// A value on the pickle machine's stack. Only what state dicts contain.
struct Value;
using ValuePtr = std::shared_ptr<Value>;
struct Value {
  enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Tensor, Storage, Global, Mark } kind = Kind::None;
  int64_t i = 0;
  double f = 0;
  std::string s;                                   // String; Global: "module.name"
  std::vector<ValuePtr> items;                     // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> dict; // Dict
  at::Tensor tensor;                               // Tensor; Storage (flat)
};

ValuePtr make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

// The only globals a state dict needs; anything else (os.system, builtins.eval, …) is refused.
const std::set<std::string>& allowed_globals() {
  static const std::set<std::string> allowed = {
      "collections.OrderedDict",        "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
      "torch.FloatStorage",             "torch.HalfStorage",               "torch.BFloat16Storage"};
  return allowed;
}

at::ScalarType storage_dtype(const std::string& global) {
  if (global == "torch.FloatStorage") return at::kFloat;
  if (global == "torch.HalfStorage") return at::kHalf;
  return at::kBFloat16;
}

class Unpickler {
 public:
  Unpickler(std::string file, const char* data, std::size_t size, caffe2::serialize::PyTorchStreamReader& reader)
      : file_(std::move(file)), p_(data), end_(data + size), reader_(reader) {}

  ValuePtr run();

 private:
  [[noreturn]] void malformed(const std::string& why) const {
    throw Error(ErrorCode::CorruptFile, "cannot read '" + file_ + "': malformed pickle (" + why + ")");
  }
  const char* take(std::size_t n) {
    if (std::size_t(end_ - p_) < n) malformed("ends early");
    const char* r = p_;
    p_ += n;
    return r;
  }
  uint8_t u8() { return uint8_t(*take(1)); }
  template <typename T>
  T little() {
    T v;
    std::memcpy(&v, take(sizeof(T)), sizeof(T));
    return v;
  }
  std::string line() {
    const char* begin = p_;
    while (p_ < end_ && *p_ != '\n') ++p_;
    if (p_ == end_) malformed("unterminated GLOBAL");
    return std::string(begin, p_++);
  }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  ValuePtr pop() {
    if (stack_.empty()) malformed("stack underflow");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  ValuePtr& top() {
    if (stack_.empty()) malformed("stack underflow");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_to_mark();
  void push_int(int64_t v) {
    auto x = make(Value::Kind::Int);
    x->i = v;
    push(x);
  }
  void push_string(const char* b, std::size_t n) {
    auto x = make(Value::Kind::String);
    x->s.assign(b, n);
    push(x);
  }
  void push_global(const std::string& module, const std::string& name);
  ValuePtr memo_get(std::size_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) malformed("unknown memo key");
    return it->second;
  }
  ValuePtr call(const ValuePtr& fn, const ValuePtr& args);
  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& args);
  ValuePtr load_storage(const ValuePtr& pid);
  void set_items(const ValuePtr& target, const std::vector<ValuePtr>& kv);

  std::string file_;
  const char* p_;
  const char* end_;
  caffe2::serialize::PyTorchStreamReader& reader_;
  std::vector<ValuePtr> stack_;
  std::vector<std::size_t> marks_;
  std::map<std::size_t, ValuePtr> memo_;
  std::map<std::string, at::Tensor> storages_;  // by record key: views of one storage share it
};

std::vector<ValuePtr> Unpickler::pop_to_mark() {
  if (marks_.empty()) malformed("no MARK");
  const std::size_t mark = marks_.back();
  marks_.pop_back();
  if (mark > stack_.size()) malformed("MARK beyond the stack");
  std::vector<ValuePtr> items(stack_.begin() + std::ptrdiff_t(mark), stack_.end());
  stack_.resize(mark);
  return items;
}

void Unpickler::push_global(const std::string& module, const std::string& name) {
  const std::string full = module + "." + name;
  if (!allowed_globals().count(full))
    throw Error(ErrorCode::Unsupported, "refusing to load '" + file_ + "': it references '" + full +
                                            "', which a weights file never needs (only state dicts of tensors load)");
  auto g = make(Value::Kind::Global);
  g->s = full;
  push(g);
}

void Unpickler::set_items(const ValuePtr& target, const std::vector<ValuePtr>& kv) {
  if (target->kind != Value::Kind::Dict) malformed("SETITEM(S) on a non-dict");
  if (kv.size() % 2) malformed("odd SETITEMS");
  for (std::size_t k = 0; k < kv.size(); k += 2) target->dict.emplace_back(kv[k], kv[k + 1]);
}

ValuePtr Unpickler::load_storage(const ValuePtr& pid) {
  // ('storage', torch.FloatStorage, '<key>', '<location>', numel)
  if (pid->kind != Value::Kind::Tuple || pid->items.size() < 5 || pid->items[0]->s != "storage" ||
      pid->items[1]->kind != Value::Kind::Global || pid->items[2]->kind != Value::Kind::String ||
      pid->items[4]->kind != Value::Kind::Int)
    malformed("unexpected persistent id");
  const std::string key = pid->items[2]->s;
  auto it = storages_.find(key);
  if (it == storages_.end()) {
    if (key.empty() || key.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyz_") != std::string::npos)
      malformed("bad storage key");
    const at::ScalarType dtype = storage_dtype(pid->items[1]->s);
    const int64_t numel = pid->items[4]->i;
    at::DataPtr data;
    std::size_t bytes = 0;
    try {
      std::tie(data, bytes) = reader_.getRecord("data/" + key);
    } catch (const c10::Error& e) {
      throw Error(ErrorCode::CorruptFile, "cannot read '" + file_ + "': storage 'data/" + key +
                                              "' is missing or damaged (" + e.msg().substr(0, e.msg().find('\n')) + ")");
    }
    const std::size_t element = c10::elementSize(dtype);
    if (numel < 0 || std::size_t(numel) > bytes / element)
      throw Error(ErrorCode::CorruptFile, fmt::format("cannot read '{}': storage 'data/{}' claims {} elements but holds "
                                                      "{} bytes", file_, key, numel, bytes));
    at::Tensor storage = at::empty({numel}, at::TensorOptions().dtype(dtype));
    std::memcpy(storage.data_ptr(), data.get(), std::size_t(numel) * element);
    it = storages_.emplace(key, storage).first;
  }
  auto v = make(Value::Kind::Storage);
  v->tensor = it->second;
  return v;
}

std::vector<int64_t> int_list(const ValuePtr& v, const char* what, const std::string& file) {
  if (v->kind != Value::Kind::Tuple && v->kind != Value::Kind::List)
    throw Error(ErrorCode::CorruptFile, "cannot read '" + file + "': tensor " + what + " is not a tuple");
  std::vector<int64_t> out;
  for (const auto& x : v->items) {
    if (x->kind != Value::Kind::Int)
      throw Error(ErrorCode::CorruptFile, "cannot read '" + file + "': tensor " + what + " holds a non-integer");
    out.push_back(x->i);
  }
  return out;
}

ValuePtr Unpickler::rebuild_tensor(const std::vector<ValuePtr>& a) {
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (a.size() < 4 || a[0]->kind != Value::Kind::Storage || a[1]->kind != Value::Kind::Int)
    malformed("bad _rebuild_tensor_v2 arguments");
  const at::Tensor& storage = a[0]->tensor;
  const int64_t offset = a[1]->i;
  const std::vector<int64_t> size = int_list(a[2], "size", file_), stride = int_list(a[3], "stride", file_);
  if (size.size() != stride.size()) malformed("size and stride differ in length");
  // The view must stay inside its storage: a hostile file could otherwise read foreign memory.
  // A negative offset is refused first: INT64_MAX − offset below would overflow (fuzz finding).
  if (offset < 0) malformed("negative storage offset");
  int64_t last = offset;
  bool empty = false;
  for (std::size_t d = 0; d < size.size(); ++d) {
    if (size[d] < 0 || stride[d] < 0) malformed("negative size or stride");
    if (size[d] == 0) empty = true;
    else if (stride[d] > 0 && size[d] - 1 > (INT64_MAX - last) / stride[d]) malformed("view size overflows");
    else last += (size[d] - 1) * stride[d];
  }
  if (!empty && last >= storage.numel())
    throw Error(ErrorCode::CorruptFile, fmt::format("cannot read '{}': a tensor view reaches element {} of a storage "
                                                    "of {}", file_, last, storage.numel()));
  auto v = make(Value::Kind::Tensor);
  v->tensor = storage.as_strided(size, stride, offset);
  return v;
}

ValuePtr Unpickler::call(const ValuePtr& fn, const ValuePtr& args) {
  if (fn->kind != Value::Kind::Global || args->kind != Value::Kind::Tuple) malformed("REDUCE on a non-global");
  if (fn->s == "collections.OrderedDict") return make(Value::Kind::Dict);
  if (fn->s == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(args->items);
  if (fn->s == "torch._utils._rebuild_parameter") {  // (tensor, requires_grad, backward_hooks)
    if (args->items.empty() || args->items[0]->kind != Value::Kind::Tensor) malformed("bad _rebuild_parameter");
    return args->items[0];
  }
  malformed("cannot call '" + fn->s + "'");  // storage classes are only referenced, never called
}

ValuePtr Unpickler::run() {
  for (;;) {
    const uint8_t op = u8();
    switch (op) {
      case 0x80: u8(); break;                                          // PROTO
      case 0x95: take(8); break;                                       // FRAME
      case '}': push(make(Value::Kind::Dict)); break;                  // EMPTY_DICT
      case ']': push(make(Value::Kind::List)); break;                  // EMPTY_LIST
      case ')': push(make(Value::Kind::Tuple)); break;                 // EMPTY_TUPLE
      case '(': marks_.push_back(stack_.size()); break;                // MARK
      case 'N': push(make(Value::Kind::None)); break;                  // NONE
      case 0x88: case 0x89: {                                          // NEWTRUE, NEWFALSE
        auto b = make(Value::Kind::Bool);
        b->i = op == 0x88;
        push(b);
        break;
      }
      case 'K': push_int(u8()); break;                                 // BININT1
      case 'M': push_int(little<uint16_t>()); break;                   // BININT2
      case 'J': push_int(little<int32_t>()); break;                    // BININT
      case 0x8a: {                                                     // LONG1
        const uint8_t n = u8();
        if (n > 8) malformed("integer too long");
        const char* b = take(n);
        int64_t v = 0;
        for (int k = n - 1; k >= 0; --k) v = int64_t(uint64_t(v) << 8 | uint8_t(b[k]));
        if (n && n < 8 && (uint8_t(b[n - 1]) & 0x80)) v -= int64_t(1) << (8 * n);
        push_int(v);
        break;
      }
      case 'G': {                                                      // BINFLOAT (big-endian)
        const char* b = take(8);
        uint64_t u = 0;
        for (int k = 0; k < 8; ++k) u = u << 8 | uint8_t(b[k]);
        auto f = make(Value::Kind::Float);
        std::memcpy(&f->f, &u, 8);
        push(f);
        break;
      }
      case 'X': { const auto n = little<uint32_t>(); push_string(take(n), n); break; }  // BINUNICODE
      case 0x8c: { const uint8_t n = u8(); push_string(take(n), n); break; }           // SHORT_BINUNICODE
      case 'c': { const std::string module = line(); push_global(module, line()); break; }  // GLOBAL
      case 0x93: {                                                     // STACK_GLOBAL
        const ValuePtr name = pop(), module = pop();
        if (name->kind != Value::Kind::String || module->kind != Value::Kind::String) malformed("bad STACK_GLOBAL");
        push_global(module->s, name->s);
        break;
      }
      case 'q': memo_[u8()] = top(); break;                            // BINPUT
      case 'r': memo_[little<uint32_t>()] = top(); break;              // LONG_BINPUT
      case 0x94: memo_[memo_.size()] = top(); break;                   // MEMOIZE
      case 'h': push(memo_get(u8())); break;                           // BINGET
      case 'j': push(memo_get(little<uint32_t>())); break;             // LONG_BINGET
      case 't': { auto t = make(Value::Kind::Tuple); t->items = pop_to_mark(); push(t); break; }  // TUPLE
      case 0x85: case 0x86: case 0x87: {                               // TUPLE1..3
        const std::size_t n = op - 0x84;
        if (stack_.size() < n) malformed("stack underflow");
        auto t = make(Value::Kind::Tuple);
        t->items.assign(stack_.end() - std::ptrdiff_t(n), stack_.end());
        stack_.resize(stack_.size() - n);
        push(t);
        break;
      }
      case 's': { const ValuePtr v = pop(), k = pop(); set_items(top(), {k, v}); break; }  // SETITEM
      case 'u': { const auto kv = pop_to_mark(); set_items(top(), kv); break; }           // SETITEMS
      case 'a': {                                                      // APPEND
        const ValuePtr v = pop();
        if (top()->kind != Value::Kind::List) malformed("APPEND to a non-list");
        top()->items.push_back(v);
        break;
      }
      case 'e': {                                                      // APPENDS
        const auto xs = pop_to_mark();
        if (top()->kind != Value::Kind::List) malformed("APPENDS to a non-list");
        top()->items.insert(top()->items.end(), xs.begin(), xs.end());
        break;
      }
      case 'R': { const ValuePtr args = pop(), fn = pop(); push(call(fn, args)); break; }  // REDUCE
      case 'b': pop(); if (top()->kind != Value::Kind::Dict) malformed("BUILD on a non-dict"); break;  // BUILD: drop _metadata
      case 'Q': push(load_storage(pop())); break;                      // BINPERSID
      case '.': return pop();                                          // STOP
      default: malformed(fmt::format("opcode 0x{:02x} is not used by state dicts", op));
    }
  }
}

void collect(const ValuePtr& v, const std::string& prefix, StateDict& out) {
  if (v->kind == Value::Kind::Tensor) out.emplace_back(prefix, v->tensor);
  if (v->kind != Value::Kind::Dict) return;
  for (const auto& [key, value] : v->dict) {
    const std::string k = key->kind == Value::Kind::String ? key->s : std::to_string(key->i);
    collect(value, prefix.empty() ? k : prefix + "." + k, out);
  }
}

}  // namespace

StateDict read_torch_checkpoint(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw Error(ErrorCode::FileNotFound, "cannot open '" + path.string() + "': no such file");
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  at::DataPtr pickle;
  std::size_t size = 0;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path.string());
    if (reader->hasRecord("byteorder")) {
      auto [order, n] = reader->getRecord("byteorder");
      if (std::string(static_cast<const char*>(order.get()), n) != "little")
        throw Error(ErrorCode::Unsupported, "cannot read '" + path.string() + "': big-endian checkpoints are not supported");
    }
    std::tie(pickle, size) = reader->getRecord("data.pkl");
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::CorruptFile, "cannot read '" + path.string() +
                                            "' as a torch.save zip checkpoint (truncated, corrupt, or an old non-zip "
                                            "format): " + e.msg().substr(0, e.msg().find('\n')));
  }
  Unpickler unpickler(path.string(), static_cast<const char*>(pickle.get()), size, *reader);
  StateDict out;
  collect(unpickler.run(), "", out);
  if (out.empty()) throw Error(ErrorCode::CorruptFile, "'" + path.string() + "' holds no tensors");
  return out;
}

}  // namespace cm::model
