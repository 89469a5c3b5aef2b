// make_seeds DIR — writes small valid inputs for each fuzz harness into DIR/NAME/ (committed as
// fuzz/corpus/NAME/seed-*): the fuzzers start from files that read, and mutate from there.
#include "core/imageio/image_file.h"
#include "core/model/model_card.h"
#include "core/model/safetensors.h"
#include "tests/core/dng_writer.h"
#include "tests/core/photo_files.h"
#include "tests/core/torch_save_writer.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  for (const char* h : {"safetensors", "torch_checkpoint", "model_card", "image", "raw"}) fs::create_directories(out / h);

  cm::model::write_safetensors(out / "safetensors" / "seed-two-tensors.safetensors",
                               {{"a", at::arange(6, at::kFloat).view({2, 3})}, {"b.bias", at::ones({4}, at::kHalf)}},
                               {{"format", "pt"}});
  cm::model::write_safetensors(out / "safetensors" / "seed-bf16.safetensors", {{"w", at::zeros({1, 2, 2}, at::kBFloat16)}});

  cm::testing::Pickle p;
  p.ordered_dict().mark();
  p.str("a").tensor("0", 12, 0, {3, 4}, {4, 1});
  p.str("b.t").tensor("0", 12, 2, {2, 2}, {1, 4});
  p.setitems().stop();
  cm::testing::write_checkpoint(out / "torch_checkpoint" / "seed-state-dict.pt", p, {{"0", at::arange(12, at::kFloat)}});

  cm::model::ModelCard card;
  card.name = "seed";
  card.architecture = cm::model::unet_config_from_json({{"image_size", 32}, {"num_channels", 32}, {"num_res_blocks", 1},
                                                        {"channel_mult", "1,2"}, {"attention_resolutions", "16"},
                                                        {"num_head_channels", 32}, {"class_cond", true}, {"num_classes", 10}});
  card.default_ts = {0, 22, 39};
  card.license = "seed";
  cm::model::write_model_card(out / "model_card" / "seed-card.json", card);

  cm::imageio::Image image;
  image.rgb = at::rand({1, 3, 9, 7}) * 2 - 1;
  image.alpha = at::rand({1, 1, 9, 7});
  cm::imageio::SaveOptions with_text;
  with_text.description = "{\"cmedit\": \"seed\"}";
  for (const char* ext : {".png", ".jpg", ".webp", ".bmp", ".tif"})
    cm::imageio::save_image(out / "image" / (std::string("seed") + ext), image, with_text);
  cm::imageio::SaveOptions sixteen;
  sixteen.bit_depth = 16;
  cm::imageio::save_image(out / "image" / "seed-16bit.png", image, sixteen);
  // A phone's photo: EXIF with a thumbnail, XMP, a Display P3 profile; and the HEIF and JPEG XL kinds.
  cm::imageio::Image phone = image;
  phone.metadata = cm::testing::phone_metadata();
  for (const char* ext : {".jpg", ".heic", ".avif", ".jxl"})
    cm::imageio::save_image(out / "image" / (std::string("seed-phone") + ext), phone);
  const std::vector<std::uint8_t> dng = cm::testing::make_dng(22, 22, 6);
  std::ofstream(out / "raw" / "seed-sideways.dng", std::ios::binary).write(reinterpret_cast<const char*>(dng.data()), std::streamsize(dng.size()));
  std::ofstream(out / "image" / "seed.pgm", std::ios::binary) << "P5\n3 2\n255\n" << std::string(6, '\x7f');
  return 0;
}
