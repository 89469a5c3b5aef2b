// torch.save's zip layout written by hand: pickle protocol 2 opcode by opcode, and the zip
// through LibTorch's own writer. For the checkpoint reader's tests and the fuzzers' seeds.
#pragma once

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace cm::testing {

// Writes pickle protocol 2 the way torch.save does, opcode by opcode.
class Pickle {
 public:
  Pickle() { bytes_ += "\x80\x02"; }
  Pickle& global(const std::string& module, const std::string& name) { return raw("c" + module + "\n" + name + "\n"); }
  Pickle& mark() { return raw("("); }
  Pickle& tuple() { return raw("t"); }
  Pickle& empty_tuple() { return raw(")"); }
  Pickle& reduce() { return raw("R"); }
  Pickle& setitems() { return raw("u"); }
  Pickle& persid() { return raw("Q"); }
  Pickle& stop() { return raw("."); }
  Pickle& newfalse() { return raw("\x89"); }
  Pickle& integer(int v) {
    bytes_ += 'J';
    bytes_.append(reinterpret_cast<const char*>(&v), 4);
    return *this;
  }
  Pickle& str(const std::string& s) {
    bytes_ += 'X';
    const uint32_t n = uint32_t(s.size());
    bytes_.append(reinterpret_cast<const char*>(&n), 4);
    bytes_ += s;
    return *this;
  }
  Pickle& ints(const std::vector<int>& v) {
    mark();
    for (int x : v) integer(x);
    return tuple();
  }
  Pickle& ordered_dict() { return global("collections", "OrderedDict").empty_tuple().reduce(); }
  // _rebuild_tensor_v2(storage 'key' of numel floats, offset, size, stride, False, OrderedDict())
  Pickle& tensor(const std::string& key, int numel, int offset, const std::vector<int>& size, const std::vector<int>& stride) {
    global("torch._utils", "_rebuild_tensor_v2").mark();
    mark().str("storage").global("torch", "FloatStorage").str(key).str("cpu").integer(numel).tuple().persid();
    integer(offset).ints(size).ints(stride).newfalse().ordered_dict().tuple().reduce();
    return *this;
  }
  Pickle& raw(const std::string& s) {
    bytes_ += s;
    return *this;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// A torch.save-style zip: archive/data.pkl + archive/data/<key> storages.
inline void write_checkpoint(const std::filesystem::path& path, const Pickle& pickle, const std::vector<std::pair<std::string, at::Tensor>>& storages) {
  caffe2::serialize::PyTorchStreamWriter writer(path.string());
  writer.writeRecord("data.pkl", pickle.bytes().data(), pickle.bytes().size());
  for (const auto& [key, t] : storages) writer.writeRecord("data/" + key, t.data_ptr(), t.numel() * t.element_size());
  writer.writeEndOfFile();
}

}  // namespace cm::testing
