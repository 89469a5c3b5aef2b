#include "core/train/sharded_checkpoint.h"

#include "core/base/atomic_file.h"
#include "core/base/error.h"
#include "core/model/safetensors.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

namespace cm::train {
namespace fs = std::filesystem;
namespace {

// Room kept in every shard for its JSON header: a generous bound per tensor.
int64_t header_bound(const std::string& name) { return int64_t(name.size()) + 160; }

struct Piece {
  std::string key;  // name in the shard
  at::Tensor data;
};

[[noreturn]] void corrupt(const fs::path& dir, const std::string& what) {
  throw Error(ErrorCode::CorruptFile, "checkpoint '" + dir.string() + "': " + what);
}

}  // namespace

fs::path checkpoint_dir(const fs::path& parent, int64_t step) { return parent / fmt::format("step-{:09d}", step); }

void write_checkpoint(const fs::path& dir, const model::StateDict& tensors, const nlohmann::json& state,
                      int64_t max_shard_bytes) {
  if (max_shard_bytes < (64 << 10)) throw Error(ErrorCode::BadArgument, "checkpoint shards must be allowed at least 64 KiB");
  const int64_t budget = max_shard_bytes - 4096;  // JSON framing beyond the per-tensor bound
  std::set<std::string> names;
  nlohmann::json index = nlohmann::json::array();
  std::vector<std::vector<Piece>> shards(1);
  int64_t used = 0;
  auto add = [&](Piece piece) {
    const int64_t bytes = piece.data.numel() * int64_t(piece.data.element_size()) + header_bound(piece.key);
    if (used + bytes > budget && !shards.back().empty()) shards.emplace_back(), used = 0;
    used += bytes;
    shards.back().push_back(std::move(piece));
    return std::string(fmt::format("shard-{:03d}.safetensors", shards.size() - 1));
  };
  for (const auto& [name, tensor] : tensors) {
    if (!names.insert(name).second) throw Error(ErrorCode::BadArgument, "checkpoint: tensor '" + name + "' appears twice");
    const at::Tensor flat = tensor.detach().to(at::kCPU).contiguous().view(-1);
    const int64_t per_piece = std::max<int64_t>(1, (budget - header_bound(name) - 16) / int64_t(flat.element_size()));
    nlohmann::json parts = nlohmann::json::array();
    for (int64_t begin = 0, part = 0; begin < flat.numel() || part == 0; begin += per_piece, ++part) {
      const std::string key = fmt::format("{}#{}", name, part);
      const std::string file = add({key, flat.slice(0, begin, std::min(flat.numel(), begin + per_piece))});
      parts.push_back({{"file", file}, {"key", key}});
    }
    index.push_back({{"name", name}, {"shape", tensor.sizes().vec()}, {"parts", parts}});
  }

  fs::path partial = dir;
  partial += ".partial";
  std::error_code ec;
  fs::remove_all(partial, ec);
  if (fs::exists(dir)) throw Error(ErrorCode::Io, "checkpoint '" + dir.string() + "' exists already");
  try {
    fs::create_directories(partial);
    for (std::size_t s = 0; s < shards.size(); ++s) {
      model::StateDict shard;
      for (const Piece& p : shards[s]) shard.emplace_back(p.key, p.data);
      model::write_safetensors(partial / fmt::format("shard-{:03d}.safetensors", s), shard);
    }
    const std::string text = nlohmann::json({{"format", "cmedit-checkpoint"}, {"version", 1}, {"tensors", index}, {"state", state}}).dump(1);
    write_file_atomically(partial / "index.json", text.data(), text.size());
    fs::rename(partial, dir);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(partial, ec);
    throw Error(ErrorCode::Io, "cannot write checkpoint '" + dir.string() + "': " + e.what());
  } catch (...) {
    fs::remove_all(partial, ec);
    throw;
  }
}

Checkpoint read_checkpoint(const fs::path& dir) {
  std::ifstream in(dir / "index.json");
  if (!in) throw Error(ErrorCode::FileNotFound, "no checkpoint at '" + dir.string() + "' (index.json missing)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    corrupt(dir, std::string("index.json is not valid JSON: ") + e.what());
  }
  if (!j.is_object() || j.value("format", "") != "cmedit-checkpoint" || !j.contains("tensors") || !j["tensors"].is_array())
    corrupt(dir, "index.json is not a cmedit checkpoint index");

  std::map<std::string, std::map<std::string, at::Tensor>> shards;  // file → key → tensor
  auto piece = [&](const std::string& file, const std::string& key) -> at::Tensor {
    if (file.find('/') != std::string::npos || file.find("..") != std::string::npos) corrupt(dir, "shard name '" + file + "' is not a plain file name");
    auto it = shards.find(file);
    if (it == shards.end()) {
      std::map<std::string, at::Tensor> loaded;
      for (auto& [k, t] : model::read_safetensors(dir / file).tensors) loaded.emplace(k, t);
      it = shards.emplace(file, std::move(loaded)).first;
    }
    const auto t = it->second.find(key);
    if (t == it->second.end()) corrupt(dir, "piece '" + key + "' is missing from " + file);
    return t->second;
  };

  Checkpoint cp;
  for (const auto& entry : j["tensors"]) {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<at::Tensor> parts;
    try {
      name = entry.at("name").get<std::string>();
      shape = entry.at("shape").get<std::vector<int64_t>>();
      for (const auto& p : entry.at("parts")) parts.push_back(piece(p.at("file").get<std::string>(), p.at("key").get<std::string>()));
    } catch (const nlohmann::json::exception&) {
      corrupt(dir, "a tensor entry of index.json has a missing or mistyped field");
    }
    if (parts.empty()) corrupt(dir, "tensor '" + name + "' has no pieces");
    at::Tensor flat = parts.size() == 1 ? parts[0].view(-1) : at::cat(parts, 0);
    int64_t numel = 1;
    for (int64_t d : shape) {
      if (d < 0) corrupt(dir, "tensor '" + name + "' has a negative dimension");
      numel *= d;
    }
    if (flat.numel() != numel) corrupt(dir, fmt::format("tensor '{}' has {} values for shape {}", name, flat.numel(), model::shape_string(shape)));
    cp.tensors.emplace_back(name, flat.view(shape));
  }
  cp.state = j.value("state", nlohmann::json::object());
  return cp;
}

std::vector<fs::path> list_checkpoints(const fs::path& parent) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && name.rfind("step-", 0) == 0 && name.find('.') == std::string::npos &&
        fs::exists(e.path() / "index.json"))
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());  // zero-padded step numbers sort in order
  return out;
}

std::optional<fs::path> latest_checkpoint(const fs::path& parent) {
  const auto all = list_checkpoints(parent);
  if (all.empty()) return std::nullopt;
  return all.back();
}

}  // namespace cm::train
