#include "core/expect_error.h"
#include "core/model/safetensors.h"
#include "core/temp_dir.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <string>
#include <sys/resource.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using cm::ErrorCode;
using cm::model::read_safetensors;
using cm::model::SafetensorsFile;
using cm::model::StateDict;
using cm::model::write_safetensors;
using cm::testing::TempDir;

// ---- helpers ------------------------------------------------------------------------------

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

std::string le64(std::uint64_t value) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(value >> (8 * i));
  return out;
}

std::uint64_t header_length(const std::string& file) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(file[i]);
  return value;
}

nlohmann::json header_of(const std::string& file) { return nlohmann::json::parse(file.substr(8, header_length(file))); }

// The raw bytes of a tensor in C order, to compare bit patterns (NaN payloads, -0.0) exactly.
std::string raw_bytes(const at::Tensor& tensor) {
  const at::Tensor t = tensor.contiguous();
  return std::string(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
}

// A file as any writer could lay it out: 8-byte length, this header as it is, this data section.
fs::path crafted(const TempDir& dir, const std::string& header, const std::string& data) {
  const fs::path path = dir / "crafted.safetensors";
  write_bytes(path, le64(header.size()) + header + data);
  return path;
}

// The data section of the crafted files: 16 bytes of 0x11, which is not JSON whitespace, so a
// header that runs into it never parses.
const std::string kData16(16, '\x11');
// A header with one tensor 'w', described by `fields` (kValidFields: 4 F32 values over kData16).
std::string one_tensor(const std::string& fields) { return R"({"w":{)" + fields + "}}"; }
const std::string kValidFields = R"("dtype":"F32","shape":[4],"data_offsets":[0,16])";

// Reading `path` must fail with `code`, and the message must name the file and contain each part.
void expect_read_error(const fs::path& path, ErrorCode code, std::initializer_list<std::string> parts) {
  EXPECT_CM_ERROR(read_safetensors(path), code, path.string());
  for (const std::string& part : parts) EXPECT_CM_ERROR(read_safetensors(path), code, part);
}

// One tensor of every kind a round trip must keep, in an order that is not alphabetical.
StateDict every_kind() {
  at::manual_seed(7);
  StateDict tensors;
  tensors.emplace_back("z.f32", at::randn({2, 3}));
  tensors.emplace_back("a.f16", at::randn({4}).to(at::kHalf));
  tensors.emplace_back("m.bf16", at::randn({3, 1, 2}).to(at::kBFloat16));
  tensors.emplace_back("f64", at::randn({2}, at::kDouble));
  tensors.emplace_back("i64", at::tensor(std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), -1, 0,
                                                                   std::numeric_limits<std::int64_t>::max()}));
  tensors.emplace_back("i32", at::arange(-3, 3, at::kInt));
  tensors.emplace_back("i16", at::arange(-3, 3, at::kShort));
  tensors.emplace_back("i8", at::arange(-128, 128).to(at::kChar));
  tensors.emplace_back("u8", at::arange(0, 256).to(at::kByte));
  tensors.emplace_back("bool", at::randn({5}).gt(0));
  tensors.emplace_back("scalar", at::scalar_tensor(3.5));  // 0-dim
  tensors.emplace_back("empty", at::empty({0, 4}));
  tensors.emplace_back("transposed", at::arange(12, at::kFloat).reshape({3, 4}).t());  // not contiguous
  return tensors;
}

// ---- round trips ----------------------------------------------------------------------------

TEST(SafetensorsRoundTrip, KeepsEveryDtypeBitExactWithNamesOrderAndMetadata) {
  TempDir dir;
  const fs::path path = dir / "model.safetensors";
  const StateDict original = every_kind();
  ASSERT_FALSE(original.back().second.is_contiguous());
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "σ ≥ ε, \"quoted\"\n"}};

  write_safetensors(path, original, metadata);
  const SafetensorsFile file = read_safetensors(path);

  ASSERT_EQ(file.tensors.size(), original.size());
  for (std::size_t i = 0; i < original.size(); ++i) {
    const auto& [name, expected] = original[i];
    const auto& [read_name, actual] = file.tensors[i];
    SCOPED_TRACE(name);
    EXPECT_EQ(read_name, name);
    EXPECT_EQ(actual.scalar_type(), expected.scalar_type());
    EXPECT_EQ(actual.sizes(), expected.sizes());
    EXPECT_TRUE(actual.device().is_cpu());
    EXPECT_TRUE(actual.is_contiguous());
    EXPECT_TRUE(at::equal(actual, expected));
    EXPECT_EQ(raw_bytes(actual), raw_bytes(expected));
  }
  EXPECT_EQ(file.tensors[10].second.dim(), 0);
  EXPECT_EQ(file.metadata, metadata);
}

TEST(SafetensorsRoundTrip, SpecialFloatValuesKeepTheirBits) {
  TempDir dir;
  const fs::path path = dir / "special.safetensors";
  const float inf = std::numeric_limits<float>::infinity();
  const at::Tensor values = at::tensor(std::vector<float>{std::numeric_limits<float>::quiet_NaN(), -inf, inf, -0.0f,
                                                          std::numeric_limits<float>::denorm_min()});
  const StateDict original = {{"f32", values}, {"f16", values.to(at::kHalf)}, {"bf16", values.to(at::kBFloat16)}};
  write_safetensors(path, original);
  const SafetensorsFile file = read_safetensors(path);
  ASSERT_EQ(file.tensors.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(raw_bytes(file.tensors[i].second), raw_bytes(original[i].second)) << original[i].first;
}

TEST(SafetensorsRoundTrip, MetadataIsWrittenOnlyWhenThereIsSome) {
  TempDir dir;
  const StateDict tensors = {{"w", at::ones({2})}};
  write_safetensors(dir / "plain.safetensors", tensors);
  EXPECT_FALSE(header_of(read_bytes(dir / "plain.safetensors")).contains("__metadata__"));
  EXPECT_TRUE(read_safetensors(dir / "plain.safetensors").metadata.empty());

  write_safetensors(dir / "meta.safetensors", tensors, {{"format", "pt"}});
  EXPECT_EQ(header_of(read_bytes(dir / "meta.safetensors"))["__metadata__"], nlohmann::json({{"format", "pt"}}));
}

TEST(SafetensorsRoundTrip, EmptyStateDict) {
  TempDir dir;
  const fs::path path = dir / "none.safetensors";
  write_safetensors(path, {});
  EXPECT_EQ(read_bytes(path), le64(8) + "{}      ");
  const SafetensorsFile file = read_safetensors(path);
  EXPECT_TRUE(file.tensors.empty());
  EXPECT_TRUE(file.metadata.empty());
}

TEST(SafetensorsRoundTrip, OverwritesAnExistingFile) {
  TempDir dir;
  const fs::path path = dir / "model.safetensors";
  write_safetensors(path, {{"old", at::zeros({100})}});
  write_safetensors(path, {{"new", at::ones({2})}});
  const SafetensorsFile file = read_safetensors(path);
  ASSERT_EQ(file.tensors.size(), 1u);
  EXPECT_EQ(file.tensors[0].first, "new");
  EXPECT_TRUE(at::equal(file.tensors[0].second, at::ones({2})));
}

// ---- the bytes on disk --------------------------------------------------------------------

TEST(SafetensorsFormat, DataSectionStartsAtAMultipleOf8) {
  TempDir dir;
  const fs::path path = dir / "aligned.safetensors";
  for (int name_length = 1; name_length <= 16; ++name_length) {
    SCOPED_TRACE("name length " + std::to_string(name_length));
    write_safetensors(path, {{std::string(name_length, 'n'), at::ones({3})}});
    const std::string file = read_bytes(path);
    const std::uint64_t n = header_length(file);
    EXPECT_EQ((8 + n) % 8, 0u);
    EXPECT_EQ(file.size(), 8 + n + 12);
    const std::string header = file.substr(8, n);
    const std::size_t last_brace = header.rfind('}');
    EXPECT_LT(header.size() - last_brace - 1, 8u);
    EXPECT_EQ(header.find_first_not_of(' ', last_brace + 1), std::string::npos) << "padding must be spaces";
  }
}

TEST(SafetensorsFormat, WritesTheExactBytesOfTheFormat) {
  TempDir dir;
  const fs::path path = dir / "exact.safetensors";
  write_safetensors(path, {{"a", at::tensor(std::vector<float>{1.0f, -2.0f})}});
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})"
                             "  ";  // 8 + 54 bytes, padded to 64
  EXPECT_EQ(read_bytes(path), le64(56) + header + bytes({0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0}));
}

TEST(SafetensorsFormat, HeaderDescribesEachTensorWithConsecutiveOffsets) {
  TempDir dir;
  const fs::path path = dir / "model.safetensors";
  const StateDict tensors = every_kind();
  write_safetensors(path, tensors);
  const std::string file = read_bytes(path);
  const nlohmann::json header = header_of(file);
  const std::string data = file.substr(8 + header_length(file));
  const std::map<at::ScalarType, std::string> dtype_names = {
      {at::kFloat, "F32"}, {at::kHalf, "F16"}, {at::kBFloat16, "BF16"}, {at::kDouble, "F64"}, {at::kLong, "I64"},
      {at::kInt, "I32"},   {at::kShort, "I16"}, {at::kChar, "I8"},       {at::kByte, "U8"},    {at::kBool, "BOOL"}};

  EXPECT_EQ(header.size(), tensors.size());
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    SCOPED_TRACE(name);
    const nlohmann::json& entry = header.at(name);
    const std::uint64_t size = tensor.numel() * tensor.element_size();
    EXPECT_EQ(entry.at("dtype"), dtype_names.at(tensor.scalar_type()));
    EXPECT_EQ(entry.at("shape").get<std::vector<std::int64_t>>(), tensor.sizes().vec());
    EXPECT_EQ(entry.at("data_offsets"), nlohmann::json::array({offset, offset + size}));
    // C order of the logical tensor, whatever its strides were.
    EXPECT_EQ(data.substr(offset, size), raw_bytes(tensor.contiguous()));
    offset += size;
  }
  EXPECT_EQ(offset, data.size());
}

// Laid out by hand as another implementation would: keys in no particular order, dtypes the
// writer above does not produce in this combination, a 0-dim and an empty tensor.
TEST(SafetensorsFormat, ReadsAFileWrittenByHand) {
  const std::string header =
      R"({"e":{"dtype":"U8","shape":[0,2],"data_offsets":[17,17]},)"
      R"("d":{"dtype":"BOOL","shape":[3],"data_offsets":[14,17]},)"
      R"("c":{"dtype":"BF16","shape":[],"data_offsets":[12,14]},)"
      R"("b":{"dtype":"I16","shape":[2],"data_offsets":[8,12]},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("__metadata__":{"format":"pt"}})";
  const std::string data = bytes({0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,  // a: 1.0f, -2.0f
                                  0x01, 0x00, 0xff, 0xff,                          // b: 1, -1
                                  0x80, 0x3f,                                      // c: bf16 1.0
                                  0x01, 0x00, 0x01});                              // d: true, false, true
  TempDir dir;
  // Unpadded, padded with spaces, and with other JSON whitespace: all are the same file.
  for (const std::string& variant : {header, header + "     ", "\n " + header + "\t\r\n"}) {
    const SafetensorsFile file = read_safetensors(crafted(dir, variant, data));
    ASSERT_EQ(file.tensors.size(), 5u);
    const std::vector<std::string> names = {"a", "b", "c", "d", "e"};  // by offset, not as listed
    for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ(file.tensors[i].first, names[i]);
    EXPECT_TRUE(at::equal(file.tensors[0].second, at::tensor(std::vector<float>{1.0f, -2.0f})));
    EXPECT_TRUE(at::equal(file.tensors[1].second, at::tensor(std::vector<std::int16_t>{1, -1})));
    EXPECT_EQ(file.tensors[2].second.dim(), 0);
    EXPECT_EQ(file.tensors[2].second.scalar_type(), at::kBFloat16);
    EXPECT_EQ(file.tensors[2].second.item<float>(), 1.0f);
    EXPECT_TRUE(at::equal(file.tensors[3].second, at::tensor(std::vector<std::uint8_t>{1, 0, 1}).to(at::kBool)));
    EXPECT_EQ(file.tensors[4].second.sizes().vec(), std::vector<std::int64_t>({0, 2}));
    EXPECT_EQ(file.tensors[4].second.scalar_type(), at::kByte);
    EXPECT_EQ(file.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  }
}

TEST(SafetensorsFormat, EmptyTensorsMaySitAnywhereInTheDataSection) {
  TempDir dir;
  const std::string header = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                             R"("e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})";
  const SafetensorsFile file = read_safetensors(crafted(dir, header, kData16));
  ASSERT_EQ(file.tensors.size(), 2u);
  EXPECT_EQ(file.tensors[0].first, "w");
  EXPECT_EQ(file.tensors[1].first, "e");
}

// ---- damaged and hostile files -------------------------------------------------------------

TEST(SafetensorsCorrupt, MissingFileOrFolderIsFileNotFound) {
  TempDir dir;
  expect_read_error(dir / "missing.safetensors", ErrorCode::FileNotFound, {"no such file"});
  fs::create_directory(dir / "folder.safetensors");
  expect_read_error(dir / "folder.safetensors", ErrorCode::FileNotFound, {"folder"});
}

TEST(SafetensorsCorrupt, TruncatedFileAtEveryKindOfCut) {
  TempDir dir;
  const fs::path source = dir / "whole.safetensors";
  write_safetensors(source, {{"first", at::ones({4})}, {"second", at::ones({4})}});
  const std::string whole = read_bytes(source);
  const std::size_t n = header_length(whole);
  ASSERT_EQ(whole.size(), 8 + n + 32);

  struct Cut {
    std::size_t size;
    std::string reason;
  };
  const std::vector<Cut> cuts = {
      {0, "fewer than the 8"},        {1, "fewer than the 8"},        {7, "fewer than the 8"},
      {8, "header length"},           {8 + n / 2, "header length"},   {8 + n - 1, "header length"},
      {8 + n, "'first'"},             {8 + n + 1, "truncated"},       {8 + n + 16, "'second'"},
      {whole.size() - 1, "'second'"},
  };
  const fs::path path = dir / "cut.safetensors";
  for (const Cut& cut : cuts) {
    SCOPED_TRACE("cut at " + std::to_string(cut.size));
    write_bytes(path, whole.substr(0, cut.size));
    expect_read_error(path, ErrorCode::CorruptFile, {cut.reason});
  }
}

TEST(SafetensorsCorrupt, WrongHeaderLength) {
  TempDir dir;
  const fs::path path = dir / "model.safetensors";
  write_safetensors(path, {{"w", at::full({4}, 3.0)}});
  const std::string whole = read_bytes(path);
  const std::uint64_t n = header_length(whole);
  const std::string rest = whole.substr(8);

  struct Flip {
    std::uint64_t length;
    std::string reason;
  };
  const std::vector<Flip> flips = {
      {n | (1ull << 40), "larger than the rest of the file"},
      {std::numeric_limits<std::uint64_t>::max(), "larger than the rest of the file"},
      {n + 1, "not valid JSON"},  // the first data byte (0x00 of 3.0f) joins the JSON
      {n + 8, "not valid JSON"},
      {n - 1, "the tensors cover 16 bytes but the data section has 17"},
      {n / 2, "not valid JSON"},
      {0, "not valid JSON"},
  };
  for (const Flip& flip : flips) {
    SCOPED_TRACE("header length " + std::to_string(flip.length));
    write_bytes(path, le64(flip.length) + rest);
    expect_read_error(path, ErrorCode::CorruptFile, {flip.reason});
  }
}

TEST(SafetensorsCorrupt, HeaderOver100MBIsRejectedBeforeItIsRead) {
  TempDir dir;
  const fs::path path = dir / "huge.safetensors";
  const std::uint64_t length = 100'000'001;
  write_bytes(path, le64(length));
  fs::resize_file(path, 8 + length + 64);  // sparse: the disk holds almost nothing
  expect_read_error(path, ErrorCode::CorruptFile, {"100 MB"});
}

TEST(SafetensorsCorrupt, HeaderThatIsNotAJsonObject) {
  TempDir dir;
  struct Case {
    std::string header;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {R"({"w":{"dtype":"F32")", "not valid JSON"},
      {"garbage", "not valid JSON"},
      {bytes({'{', '"', 0xff, 0xfe, '"', ':', '{', '}', '}'}), "not valid JSON"},  // not UTF-8
      {"", "not valid JSON"},
      {one_tensor(kValidFields) + std::string(1, '\0') + "junk", "NUL byte"},  // would end the parser's input
      {"[1, 2]", "not a JSON object"},
      {R"("w")", "not a JSON object"},
      {"16", "not a JSON object"},
      {R"({"deep":[[[[[[[[[[1]]]]]]]]]],"w":{)" + kValidFields + "}}", "nests deeper"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    expect_read_error(crafted(dir, c.header, kData16), ErrorCode::CorruptFile, {c.reason});
  }
}

TEST(SafetensorsCorrupt, EntryWithMissingFieldsOrWrongTypes) {
  TempDir dir;
  struct Case {
    std::string fields;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {R"("shape":[4],"data_offsets":[0,16])", "no \"dtype\""},
      {R"("dtype":"F32","data_offsets":[0,16])", "no \"shape\""},
      {R"("dtype":"F32","shape":[4])", "no \"data_offsets\""},
      {R"("dtype":32,"shape":[4],"data_offsets":[0,16])", "\"dtype\" that is not a string"},
      {R"("dtype":"F32","shape":"4","data_offsets":[0,16])", "\"shape\" that is not a JSON array"},
      {R"("dtype":"F32","shape":{"n":4},"data_offsets":[0,16])", "\"shape\" that is not a JSON array"},
      {R"("dtype":"F32","shape":[4.0],"data_offsets":[0,16])", "dim that is not an integer"},
      {R"("dtype":"F32","shape":["4"],"data_offsets":[0,16])", "dim that is not an integer"},
      {R"("dtype":"F32","shape":[null],"data_offsets":[0,16])", "dim that is not an integer"},
      {R"("dtype":"F32","shape":[-4],"data_offsets":[0,16])", "negative dim"},
      {R"("dtype":"F32","shape":[2,-2],"data_offsets":[0,16])", "negative dim"},
      {R"("dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,16])", "too large"},
      {R"("dtype":"F32","shape":[4],"data_offsets":[0])", "[begin, end]"},
      {R"("dtype":"F32","shape":[4],"data_offsets":[0,8,16])", "[begin, end]"},
      {R"("dtype":"F32","shape":[4],"data_offsets":"0-16")", "[begin, end]"},
      {R"("dtype":"F32","shape":[4],"data_offsets":[0,"16"])", "data offset that is not an integer"},
      {R"("dtype":"F32","shape":[4],"data_offsets":[0,1.6e1])", "data offset that is not an integer"},
      {R"("dtype":"F32","shape":[4],"data_offsets":[-16,0])", "negative data offset"},
      {R"("dtype":"F32","dtype":"F16","shape":[4],"data_offsets":[0,16])", "'dtype' appears twice"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fields);
    expect_read_error(crafted(dir, one_tensor(c.fields), kData16), ErrorCode::CorruptFile, {"'w'", c.reason});
  }
  expect_read_error(crafted(dir, R"({"w":[4]})", kData16), ErrorCode::CorruptFile, {"'w'", "not a JSON object"});
}

TEST(SafetensorsCorrupt, BadMetadata) {
  TempDir dir;
  const std::string w = R"("w":{)" + kValidFields + "}";
  expect_read_error(crafted(dir, R"({"__metadata__":["pt"],)" + w + "}", kData16), ErrorCode::CorruptFile,
                    {"\"__metadata__\" is not a JSON object"});
  expect_read_error(crafted(dir, R"({"__metadata__":{"epoch":3},)" + w + "}", kData16), ErrorCode::CorruptFile,
                    {"'epoch'", "not a string"});
}

TEST(SafetensorsCorrupt, ShapeThatDoesNotMatchTheOffsets) {
  TempDir dir;
  expect_read_error(crafted(dir, one_tensor(R"("dtype":"F32","shape":[3],"data_offsets":[0,16])"), kData16),
                    ErrorCode::CorruptFile, {"'w'", "shape [3]", "12 bytes", "[0, 16]"});
  expect_read_error(crafted(dir, one_tensor(R"("dtype":"F16","shape":[4],"data_offsets":[0,16])"), kData16),
                    ErrorCode::CorruptFile, {"'w'", "8 bytes"});
  expect_read_error(crafted(dir, one_tensor(R"("dtype":"F32","shape":[],"data_offsets":[0,16])"), kData16),
                    ErrorCode::CorruptFile, {"'w'", "shape []"});
}

TEST(SafetensorsCorrupt, ShapeWhoseSizeOverflowsIsRejectedWithoutAllocating) {
  TempDir dir;
  for (const std::string shape : {"[4294967296,4294967296,4]", "[4611686018427387904,4]", "[9223372036854775807,2]",
                                   "[1099511627776,1099511627776,0]"}) {
    SCOPED_TRACE(shape);
    const std::string fields = R"("dtype":"F32","shape":)" + shape + R"(,"data_offsets":[0,16])";
    expect_read_error(crafted(dir, one_tensor(fields), kData16), ErrorCode::CorruptFile, {"'w'", "too large"});
  }
}

TEST(SafetensorsCorrupt, OffsetsOutsideTheDataSection) {
  TempDir dir;
  expect_read_error(crafted(dir, one_tensor(R"("dtype":"F32","shape":[4],"data_offsets":[8,24])"), kData16),
                    ErrorCode::CorruptFile, {"'w'", "beyond the end of the data section (16 bytes)"});
  expect_read_error(crafted(dir, one_tensor(R"("dtype":"F32","shape":[4],"data_offsets":[16,0])"), kData16),
                    ErrorCode::CorruptFile, {"'w'", "end before they begin"});
  expect_read_error(crafted(dir, one_tensor(R"("dtype":"F32","shape":[0],"data_offsets":[17,17])"), kData16),
                    ErrorCode::CorruptFile, {"'w'", "beyond the end"});
}

TEST(SafetensorsCorrupt, OverlappingGappedOrShortCoverage) {
  TempDir dir;
  const std::string overlap = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[3],"data_offsets":[4,16]}})";
  expect_read_error(crafted(dir, overlap, kData16), ErrorCode::CorruptFile, {"'a'", "'b'", "overlap"});
  const std::string same = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                           R"("b":{"dtype":"I32","shape":[4],"data_offsets":[0,16]}})";
  expect_read_error(crafted(dir, same, kData16), ErrorCode::CorruptFile, {"'a'", "'b'", "overlap"});
  const std::string gap = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                          R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
  expect_read_error(crafted(dir, gap, kData16), ErrorCode::CorruptFile, {"'b'", "[4, 8]", "belong to no tensor"});
  expect_read_error(crafted(dir, one_tensor(R"("dtype":"F32","shape":[3],"data_offsets":[0,12])"), kData16),
                    ErrorCode::CorruptFile, {"cover 12 bytes but the data section has 16"});
}

TEST(SafetensorsCorrupt, DuplicateTensorNames) {
  TempDir dir;
  const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
  expect_read_error(crafted(dir, header, kData16), ErrorCode::CorruptFile, {"tensor 'w' appears twice"});
}

TEST(SafetensorsCorrupt, UnknownDtypeIsUnsupportedAndNamed) {
  TempDir dir;
  for (const std::string dtype : {"F8_E4M3", "C64", "U16", "f32"}) {
    SCOPED_TRACE(dtype);
    const std::string fields = R"("dtype":")" + dtype + R"(","shape":[16],"data_offsets":[0,16])";
    expect_read_error(crafted(dir, one_tensor(fields), kData16), ErrorCode::Unsupported, {"'w'", dtype});
  }
}

TEST(SafetensorsCorrupt, BoolBytesOtherThanZeroOrOne) {
  TempDir dir;
  const std::string header = one_tensor(R"("dtype":"BOOL","shape":[4],"data_offsets":[0,4])");
  expect_read_error(crafted(dir, header, bytes({1, 0, 2, 1})), ErrorCode::CorruptFile, {"'w'", "other than 0 and 1"});
}

// ---- writing failures -----------------------------------------------------------------------

TEST(SafetensorsWrite, MissingFolderIsIo) {
  TempDir dir;
  const fs::path path = dir / "no-such-folder" / "model.safetensors";
  EXPECT_CM_ERROR(write_safetensors(path, {{"w", at::ones({2})}}), ErrorCode::Io, path.string());
  EXPECT_FALSE(fs::exists(dir / "no-such-folder"));
}

// Lowers the process's file size limit, so that writes past it fail with EFBIG (instead of
// SIGXFSZ, which is ignored meanwhile): a disk that fills up halfway through a write.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = saved_;
    lowered.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &lowered);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = nullptr;
};

TEST(SafetensorsWrite, FailureHalfwayKeepsTheExistingFileAndLeavesNoTemporary) {
  TempDir dir;
  const fs::path path = dir / "model.safetensors";
  write_safetensors(path, {{"old", at::arange(10, at::kFloat)}});
  const std::string before = read_bytes(path);
  {
    const FileSizeLimit limit(64 * 1024);
    EXPECT_CM_ERROR(write_safetensors(path, {{"big", at::zeros({1 << 20})}}), ErrorCode::Io, path.string());
  }
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
  EXPECT_TRUE(at::equal(read_safetensors(path).tensors.at(0).second, at::arange(10, at::kFloat)));
}

TEST(SafetensorsWrite, BadArgumentsAreRejectedBeforeTheFileIsTouched) {
  TempDir dir;
  const fs::path path = dir / "model.safetensors";
  write_safetensors(path, {{"old", at::ones({3})}});
  const std::string before = read_bytes(path);
  const at::Tensor w = at::ones({2});

  EXPECT_CM_ERROR(write_safetensors(path, {{"w", w}, {"v", w}, {"w", w}}), ErrorCode::BadArgument, "'w' appears twice");
  EXPECT_CM_ERROR(write_safetensors(path, {{"w", w}, {"u", at::Tensor()}}), ErrorCode::BadArgument, "'u' is undefined");
  EXPECT_CM_ERROR(write_safetensors(path, {{"__metadata__", w}}), ErrorCode::BadArgument, "reserved");
  EXPECT_CM_ERROR(write_safetensors(path, {{"w\xff", w}}), ErrorCode::BadArgument, "UTF-8");
  EXPECT_CM_ERROR(write_safetensors(path, {{"w", w}}, {{"k", "\xc3"}}), ErrorCode::BadArgument, "UTF-8");
  EXPECT_CM_ERROR(write_safetensors(path, {{"c", at::ones({2}, at::kComplexFloat)}}), ErrorCode::Unsupported, "'c'");
  EXPECT_CM_ERROR(write_safetensors(path, {{"c", at::ones({2}, at::kComplexFloat)}}), ErrorCode::Unsupported,
                  "ComplexFloat");
  EXPECT_CM_ERROR(write_safetensors(path, {{"s", at::eye(3).to_sparse()}}), ErrorCode::Unsupported, "'s' is not dense");
  EXPECT_CM_ERROR(write_safetensors(path, {{"w", w}, {"v", w}, {"w", w}}), ErrorCode::BadArgument, path.string());

  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(SafetensorsWrite, ViewsAreWrittenAsTheirOwnElementsOnly) {
  TempDir dir;
  const fs::path path = dir / "views.safetensors";
  const at::Tensor base = at::arange(100, at::kFloat).reshape({10, 10});
  const StateDict views = {{"row", base[3]},
                           {"column", base.select(1, 7)},
                           {"block", base.slice(0, 2, 5).slice(1, 4, 9)},
                           {"strided", base.slice(1, 0, 10, 3)},
                           {"expanded", at::ones({1, 3}).expand({4, 3})},
                           {"negated", at::_neg_view(at::arange(3, at::kFloat))}};
  write_safetensors(path, views);
  const SafetensorsFile file = read_safetensors(path);
  ASSERT_EQ(file.tensors.size(), views.size());
  for (std::size_t i = 0; i < views.size(); ++i) {
    SCOPED_TRACE(views[i].first);
    EXPECT_TRUE(at::equal(file.tensors[i].second, views[i].second.resolve_neg()));
  }
  EXPECT_EQ(read_bytes(path).size(), 8 + header_length(read_bytes(path)) + 4 * (10 + 10 + 15 + 40 + 12 + 3));
}

}  // namespace
