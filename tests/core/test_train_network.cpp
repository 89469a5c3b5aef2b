// The network under training (core/train/network.h): its initialisation and dropout.
#include "core/expect_error.h"
#include "core/train/network.h"
#include "core/train_fixtures.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace {

using namespace cm::train;
using cm::ErrorCode;

TEST(TrainNetwork, FreshWeightsFollowTheOfficialInitialisation) {
  const cm::model::UNetConfig config = cm::testing::tiny_unet();
  const cm::model::StateDict w = init_unet_weights(config, 1);
  const cm::model::StateDict again = init_unet_weights(config, 1);
  const cm::model::StateDict other = init_unet_weights(config, 2);
  for (std::size_t i = 0; i < w.size(); ++i) {
    const auto& [name, t] = w[i];
    EXPECT_TRUE(at::equal(t, again[i].second)) << name;
    if (name.find(".out_layers.3.") != std::string::npos || name.find("proj_out") != std::string::npos || name.rfind("out.2.", 0) == 0) {
      EXPECT_EQ(t.abs().max().item<double>(), 0.0) << name;
    }
    if (name == "time_embed.0.weight") {
      EXPECT_LE(t.abs().max().item<double>(), 1 / std::sqrt(32.0));
      EXPECT_GT(t.abs().max().item<double>(), 0.9 / std::sqrt(32.0));
      EXPECT_FALSE(at::equal(t, other[i].second));
    }
    if (name == "out.0.weight") {
      EXPECT_TRUE(at::equal(t, at::ones_like(t)));
    }
  }
  // The output conv starts at zero, so an untrained consistency function is c_skip·x exactly.
  const cm::model::UNet unet(config, w);
  const at::Tensor x = at::randn({2, 3, 8, 8});
  const at::Tensor sigma = at::full({2}, 1.5);
  const at::Tensor f = evaluate(unet, {}, x, sigma, at::Tensor(), false);
  const double c_skip = 0.25 / ((1.5 - 0.002) * (1.5 - 0.002) + 0.25);
  EXPECT_TRUE(at::allclose(f, x * c_skip, 1e-5, 1e-6));
}

TEST(TrainNetwork, DropoutActsOnlyInTrainingAndReseedingRepeatsItsMasks) {
  cm::model::UNetConfig config = cm::testing::tiny_unet();
  config.dropout = 0.3;
  cm::model::StateDict w = init_unet_weights(config, 1);
  for (auto& [name, t] : w) t = t + 0.05 * at::randn_like(t);  // no zero layers, so dropout shows
  const cm::model::UNet unet(config, w);
  const at::Tensor x = at::randn({2, 3, 8, 8}), t = at::full({2}, 100.0);
  EXPECT_TRUE(at::equal(unet.forward(x, t), unet.forward(x, t)));
  at::manual_seed(11);
  const at::Tensor a = unet.forward_training(x, t);
  at::manual_seed(11);
  const at::Tensor b = unet.forward_training(x, t);
  const at::Tensor c = unet.forward_training(x, t);
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_FALSE(at::allclose(a, c));
  EXPECT_FALSE(at::allclose(a, unet.forward(x, t)));
}

}  // namespace
