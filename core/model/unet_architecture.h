// The block structure of UNetModel (cm/unet.py), shared by the two halves of the UNet: unet.cpp
// (parameter names and shapes, FLOPs) and unet_forward.cpp (the forward pass). Internal to
// cm_model: callers see only unet.h.
#pragma once

#include "core/model/unet_config.h"

#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace cm::model {

enum class Resample { None, Up, Down };

struct StemConv { std::string prefix; int c_in, c_out; };                  // input_blocks.0.0
struct ResBlock { std::string prefix; int c_in, c_out; Resample resample; };
struct Attention { std::string prefix; int channels, heads; };
struct ResampleConv { std::string prefix; int channels; Resample resample; };  // resblock_updown = false

using Layer = std::variant<StemConv, ResBlock, Attention, ResampleConv>;
using Block = std::vector<Layer>;  // a TimestepEmbedSequential

struct UNetArchitecture {
  std::vector<Block> input_blocks;
  Block middle_block;
  std::vector<Block> output_blocks;
  int out_norm_channels = 0;  // ch0 = channel_mult[0]·model_channels
};

// The layers of a config, in the order cm/unet.py builds them. Parameter names and the forward
// pass are both read off this one description, so they cannot drift apart.
std::shared_ptr<const UNetArchitecture> build_architecture(const UNetConfig& config);

// Every layer in the order cm/unet.py builds them: input blocks, middle block, output blocks.
template <typename Visitor>
void visit_layers(const UNetArchitecture& arch, Visitor& visit) {
  for (const Block& b : arch.input_blocks)
    for (const Layer& l : b) std::visit(visit, l);
  for (const Layer& l : arch.middle_block) std::visit(visit, l);
  for (const Block& b : arch.output_blocks)
    for (const Layer& l : b) std::visit(visit, l);
}

}  // namespace cm::model
