#include "core/model/safetensors.h"

#include "core/base/atomic_file.h"
#include "core/base/error.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <vector>

namespace cm::model {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Tensor bytes are copied between file and memory as they are, which is right only on a
// little-endian machine (every platform cmedit targets).
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

// The reference implementation's limit: a larger header is an attack or garbage, not weights.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
// A valid header nests three deep (root object, entry object, shape array); the limit keeps a
// hostile "[[[[..." from building a deep structure.
constexpr int kMaxJsonDepth = 8;
constexpr std::int64_t kMaxInt64 = std::numeric_limits<std::int64_t>::max();
const std::string kMetadataKey = "__metadata__";

struct Dtype {
  const char* name;
  at::ScalarType type;
};
constexpr Dtype kDtypes[] = {
    {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf}, {"BF16", at::kBFloat16},
    {"I64", at::kLong},   {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},
    {"U8", at::kByte},    {"BOOL", at::kBool},
};
constexpr const char* kDtypeList = "F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL";

std::optional<at::ScalarType> dtype_from_name(const std::string& name) {
  for (const Dtype& d : kDtypes)
    if (name == d.name) return d.type;
  return std::nullopt;
}

const char* dtype_name(at::ScalarType type) {
  for (const Dtype& d : kDtypes)
    if (type == d.type) return d.name;
  return nullptr;
}

std::string in_quotes(const std::string& text) { return "'" + text + "'"; }

std::string offsets_string(std::uint64_t begin, std::uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

[[noreturn]] void corrupt(const fs::path& path, const std::string& why) {
  throw Error(ErrorCode::CorruptFile, in_quotes(path.string()) + " is not a valid safetensors file: " + why);
}

// ---- reading ------------------------------------------------------------------------------

// One header entry, validated: its byte range lies inside the data section and matches its shape.
struct Entry {
  std::string name;
  at::ScalarType dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;
};

// Names the file and the tensor in every complaint about one header entry.
struct EntryContext {
  const fs::path& path;
  const std::string& name;
  [[noreturn]] void fail(const std::string& why) const { corrupt(path, "tensor " + in_quotes(name) + " " + why); }
};

std::ifstream open_for_reading(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorCode::FileNotFound, "cannot open " + in_quotes(path.string()) + ": no such file");
  if (fs::is_directory(path, ec))
    throw Error(ErrorCode::FileNotFound, "cannot open " + in_quotes(path.string()) + ": it is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::FileNotFound, "cannot open " + in_quotes(path.string()) + " for reading (permissions?)");
  return in;
}

std::uint64_t decode_u64_le(const unsigned char* bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

void encode_u64_le(std::uint64_t value, unsigned char* bytes) {
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(value >> (8 * i));
}

// The header's JSON text, read only after its length has been checked against the file and the
// limit, so that a garbage length never turns into a huge allocation.
std::string read_header_text(std::ifstream& in, const fs::path& path, std::uint64_t file_size) {
  if (file_size < 8)
    corrupt(path, "the file has " + std::to_string(file_size) + " bytes, fewer than the 8 of the header length");
  unsigned char length_bytes[8];
  if (!in.read(reinterpret_cast<char*>(length_bytes), 8)) throw Error(ErrorCode::Io, "reading " + in_quotes(path.string()) + " failed");
  const std::uint64_t length = decode_u64_le(length_bytes);
  if (length > file_size - 8)
    corrupt(path, "the header length " + std::to_string(length) + " is larger than the rest of the file (" +
                      std::to_string(file_size - 8) + " bytes); the file is truncated or not safetensors");
  if (length > kMaxHeaderBytes)
    corrupt(path, "the header length " + std::to_string(length) + " is over the 100 MB limit for a header");
  std::string text(length, '\0');
  if (!in.read(text.data(), std::streamsize(length))) throw Error(ErrorCode::Io, "reading " + in_quotes(path.string()) + " failed");
  return text;
}

// "[json.exception.parse_error.101] parse error at ..." without the tag, which means nothing to a user.
std::string without_library_tag(const json::exception& e) {
  const std::string what = e.what();
  const std::size_t tag_end = what.find("] ");
  return tag_end == std::string::npos ? what : what.substr(tag_end + 2);
}

// Parses the header, rejecting what a plain parse would silently accept: a key repeated in one
// object (the parser keeps only the last) and absurd nesting.
json parse_header(const std::string& text, const fs::path& path) {
  // The parser takes a NUL byte for the end of its input and would ignore whatever follows it.
  if (const std::size_t nul = text.find('\0'); nul != std::string::npos)
    corrupt(path, "the header is not valid JSON (a NUL byte at position " + std::to_string(nul) + ")");
  std::vector<std::set<std::string>> open_objects;  // keys seen so far in each enclosing object
  std::string tensor;                               // the top-level key being parsed
  auto check = [&](int depth, json::parse_event_t event, json& value) {
    if (depth > kMaxJsonDepth) corrupt(path, "the header nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == json::parse_event_t::object_end) open_objects.pop_back();
    if (event == json::parse_event_t::key) {
      const std::string& key = value.get_ref<const std::string&>();
      if (depth == 1) tensor = key;
      if (!open_objects.back().insert(key).second)
        corrupt(path, depth == 1 ? "tensor " + in_quotes(key) + " appears twice in the header"
                                 : "the key " + in_quotes(key) + " appears twice inside " + in_quotes(tensor));
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, check);
  } catch (const json::exception& e) {  // parse_error, including invalid UTF-8
    corrupt(path, "the header is not valid JSON (" + without_library_tag(e) + ")");
  }
  if (!header.is_object()) corrupt(path, "the header is not a JSON object");
  return header;
}

std::map<std::string, std::string> parse_metadata(const json& value, const fs::path& path) {
  if (!value.is_object()) corrupt(path, "\"__metadata__\" is not a JSON object");
  std::map<std::string, std::string> metadata;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) corrupt(path, "the metadata value of " + in_quotes(key) + " is not a string");
    metadata.emplace(key, item.get<std::string>());
  }
  return metadata;
}

// A shape dim or offset: a JSON integer from 0 to INT64_MAX (so that ATen can hold it).
std::uint64_t parse_count(const json& value, const char* what, const EntryContext& ctx) {
  if (!value.is_number_integer()) ctx.fail("has a " + std::string(what) + " that is not an integer: " + value.dump());
  if (!value.is_number_unsigned()) ctx.fail("has a negative " + std::string(what) + ": " + value.dump());
  const std::uint64_t count = value.get<std::uint64_t>();
  if (count > std::uint64_t(kMaxInt64)) ctx.fail("has a " + std::string(what) + " too large to be real: " + value.dump());
  return count;
}

const json& field(const json& entry, const char* key, const EntryContext& ctx) {
  const auto it = entry.find(key);
  if (it == entry.end()) ctx.fail("has no \"" + std::string(key) + "\"");
  return *it;
}

// The byte size of a tensor, or nothing when its dims (zeros aside) multiply past what ATen can
// hold. Checked multiplication: a crafted shape must not wrap around to a small size.
std::optional<std::uint64_t> byte_size(const std::vector<std::int64_t>& shape, std::size_t element_size) {
  std::uint64_t numel = 1;
  bool empty = false;
  for (const std::int64_t dim : shape) {
    if (dim == 0) {
      empty = true;
      continue;
    }
    if (__builtin_mul_overflow(numel, std::uint64_t(dim), &numel) || numel > std::uint64_t(kMaxInt64)) return std::nullopt;
  }
  std::uint64_t bytes = 0;
  if (__builtin_mul_overflow(numel, std::uint64_t(element_size), &bytes)) return std::nullopt;
  return empty ? 0 : bytes;
}

Entry parse_entry(const std::string& name, const json& value, const fs::path& path, std::uint64_t data_size) {
  const EntryContext ctx{path, name};
  if (!value.is_object()) ctx.fail("is described by " + value.dump() + ", not a JSON object");

  Entry entry;
  entry.name = name;
  const json& dtype = field(value, "dtype", ctx);
  if (!dtype.is_string()) ctx.fail("has a \"dtype\" that is not a string: " + dtype.dump());
  const auto type = dtype_from_name(dtype.get<std::string>());
  if (!type)
    throw Error(ErrorCode::Unsupported, "tensor " + in_quotes(name) + " in " + in_quotes(path.string()) + " has dtype " +
                                            dtype.dump() + ", which cmedit cannot read (it reads " + kDtypeList + ")");
  entry.dtype = *type;

  const json& shape = field(value, "shape", ctx);
  if (!shape.is_array()) ctx.fail("has a \"shape\" that is not a JSON array: " + shape.dump());
  for (const json& dim : shape) entry.shape.push_back(std::int64_t(parse_count(dim, "dim", ctx)));

  const json& offsets = field(value, "data_offsets", ctx);
  if (!offsets.is_array() || offsets.size() != 2) ctx.fail("has \"data_offsets\" that are not [begin, end]: " + offsets.dump());
  entry.begin = parse_count(offsets[0], "data offset", ctx);
  entry.end = parse_count(offsets[1], "data offset", ctx);
  const std::string range = offsets_string(entry.begin, entry.end);
  if (entry.end < entry.begin) ctx.fail("has data_offsets " + range + " that end before they begin");
  if (entry.end > data_size)
    ctx.fail("has data_offsets " + range + " beyond the end of the data section (" + std::to_string(data_size) +
             " bytes); the file may be truncated");

  const std::size_t element_size = c10::elementSize(entry.dtype);
  const auto bytes = byte_size(entry.shape, element_size);
  if (!bytes) ctx.fail("has a shape " + shape_string(entry.shape) + " too large to be real");
  if (*bytes != entry.end - entry.begin)
    ctx.fail("has shape " + shape_string(entry.shape) + " of " + dtype.get<std::string>() + " (" + std::to_string(*bytes) +
             " bytes) but its data_offsets " + range + " hold " + std::to_string(entry.end - entry.begin) + " bytes");
  return entry;
}

// Entries must be sorted by offset. As in the reference implementation, the non-empty tensors
// must tile the data section exactly: an overlap would read one tensor's bytes as another's, and a
// gap or an unused tail means the header length or the offsets are off. Empty tensors hold no
// bytes, so they may sit at any offset inside the data section.
void check_layout(const std::vector<Entry>& entries, std::uint64_t data_size, const fs::path& path) {
  const Entry* previous = nullptr;  // the last non-empty entry; the data section is covered up to its end
  std::uint64_t covered = 0;
  for (const Entry& entry : entries) {
    if (entry.begin == entry.end) continue;
    if (entry.begin < covered)
      corrupt(path, "tensors " + in_quotes(previous->name) + " (data_offsets " + offsets_string(previous->begin, previous->end) +
                        ") and " + in_quotes(entry.name) + " (data_offsets " + offsets_string(entry.begin, entry.end) +
                        ") overlap");
    if (entry.begin > covered)
      corrupt(path, "bytes " + offsets_string(covered, entry.begin) + " of the data section belong to no tensor (gap before " +
                        in_quotes(entry.name) + ")");
    covered = entry.end;
    previous = &entry;
  }
  if (covered != data_size)
    corrupt(path, "the tensors cover " + std::to_string(covered) + " bytes but the data section has " +
                      std::to_string(data_size) + "; the header length or the offsets are wrong");
}

// Reads one tensor's bytes straight into a fresh tensor: the whole file is never in memory at once.
at::Tensor read_tensor(std::ifstream& in, std::uint64_t data_start, const Entry& entry, const fs::path& path) {
  at::Tensor tensor = at::empty(entry.shape, at::TensorOptions().dtype(entry.dtype));
  const std::uint64_t size = entry.end - entry.begin;
  if (size > 0) {
    in.seekg(std::streamoff(data_start + entry.begin));
    if (!in.read(static_cast<char*>(tensor.data_ptr()), std::streamsize(size)))
      throw Error(ErrorCode::Io, "reading tensor " + in_quotes(entry.name) + " from " + in_quotes(path.string()) +
                                     " failed (did the file change while it was read?)");
  }
  // ATen assumes bools are 0 or 1; any other byte would give wrong answers, not an error.
  if (entry.dtype == at::kBool && tensor.view(at::kByte).gt(1).any().item<bool>())
    corrupt(path, "tensor " + in_quotes(entry.name) + " of BOOL holds bytes other than 0 and 1");
  return tensor;
}

// ---- writing ------------------------------------------------------------------------------

// Everything that can be wrong with the arguments is found before the file is touched.
void check_writable(const fs::path& path, const StateDict& tensors) {
  const std::string file = in_quotes(path.string());
  std::set<std::string> names;
  for (const auto& [name, tensor] : tensors) {
    if (name == kMetadataKey)
      throw Error(ErrorCode::BadArgument, "cannot write " + file + ": the name \"__metadata__\" is reserved for metadata");
    if (!names.insert(name).second)
      throw Error(ErrorCode::BadArgument, "cannot write " + file + ": tensor " + in_quotes(name) + " appears twice");
    if (!tensor.defined())
      throw Error(ErrorCode::BadArgument, "cannot write " + file + ": tensor " + in_quotes(name) + " is undefined");
    if (tensor.layout() != at::kStrided)
      throw Error(ErrorCode::Unsupported, "cannot write " + file + ": tensor " + in_quotes(name) + " is not dense");
    if (!dtype_name(tensor.scalar_type()))
      throw Error(ErrorCode::Unsupported, "cannot write " + file + ": tensor " + in_quotes(name) + " has dtype " +
                                              std::string(c10::toString(tensor.scalar_type())) + " (safetensors in cmedit: " +
                                              kDtypeList + ")");
  }
}

std::uint64_t tensor_bytes(const at::Tensor& tensor) { return std::uint64_t(tensor.numel()) * tensor.element_size(); }

// The header JSON, tensors in the order given with consecutive offsets, padded with spaces so that
// the data section starts at a multiple of 8 (readers may then map tensors in place, aligned).
std::string header_text(const fs::path& path, const StateDict& tensors, const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const std::uint64_t end = offset + tensor_bytes(tensor);
    nlohmann::ordered_json& entry = header[name];
    entry["dtype"] = dtype_name(tensor.scalar_type());
    entry["shape"] = tensor.sizes().vec();
    entry["data_offsets"] = nlohmann::ordered_json::array({offset, end});
    offset = end;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception&) {  // type_error 316: a string that is not UTF-8
    throw Error(ErrorCode::BadArgument, "cannot write " + in_quotes(path.string()) + ": tensor names and metadata must be UTF-8");
  }
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  return text;
}

// One tensor at a time, so that a state dict on the GPU never needs a second full copy in memory.
void write_tensor_data(AtomicFile& file, const std::string& name, const at::Tensor& tensor, const fs::path& path) {
  at::Tensor data;
  try {
    data = tensor.cpu().resolve_neg().contiguous();
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::Device, "cannot write " + in_quotes(path.string()) + ": tensor " + in_quotes(name) +
                                       " cannot be copied to the CPU: " + e.what_without_backtrace());
  }
  if (data.numel() > 0) file.write(data.data_ptr(), tensor_bytes(data));
}

}  // namespace

SafetensorsFile read_safetensors(const fs::path& path) {
  std::ifstream in = open_for_reading(path);
  std::error_code ec;
  const std::uint64_t file_size = fs::file_size(path, ec);
  if (ec) throw Error(ErrorCode::Io, "cannot read the size of " + in_quotes(path.string()) + ": " + ec.message());

  const std::string text = read_header_text(in, path, file_size);
  const std::uint64_t data_start = 8 + text.size();
  const json header = parse_header(text, path);

  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey)
      file.metadata = parse_metadata(value, path);
    else
      entries.push_back(parse_entry(name, value, path, file_size - data_start));
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  check_layout(entries, file_size - data_start, path);

  file.tensors.reserve(entries.size());
  for (const Entry& entry : entries) file.tensors.emplace_back(entry.name, read_tensor(in, data_start, entry, path));
  return file;
}

void write_safetensors(const fs::path& path, const StateDict& tensors, const std::map<std::string, std::string>& metadata) {
  check_writable(path, tensors);
  const std::string header = header_text(path, tensors, metadata);

  AtomicFile file(path);
  unsigned char length[8];
  encode_u64_le(header.size(), length);
  file.write(length, sizeof length);
  file.write(header.data(), header.size());
  for (const auto& [name, tensor] : tensors) write_tensor_data(file, name, tensor, path);
  file.commit();
}

}  // namespace cm::model
