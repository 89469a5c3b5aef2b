// What the speed benchmarks share: networks. Speed does not depend
// on the weights, so they are random.
#pragma once

#include "core/model/state_dict.h"
#include "core/model/unet_config.h"

#include <filesystem>
#include <string>
#include <vector>

namespace cm::bench {


// "lsun256", "imagenet64" (the official architectures), "tiny" (32 px, 32 channels: for trying a
// benchmark on a CPU), or a JSON file: a model card or its "architecture" flags.
model::UNetConfig architecture(const std::string& name);

// Every weight of the network, N(0, 0.02²)-distributed: windows of one pool of draws (fast for
// half a billion weights; not independent, which speed does not care about).
model::StateDict random_weights(const model::UNetConfig& config, std::uint64_t seed = 0);

// A model folder the engine loads like any other (model.json + fp16 weights), named after the
// architecture: for timing the engine on a network that does not ship. Returns `dir`.
std::filesystem::path write_random_model(const std::filesystem::path& dir, const std::string& arch);

}  // namespace cm::bench
