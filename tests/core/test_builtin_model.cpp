// The model cmedit ships (models/default): within its budget (≤ 16 MiB of weights, 64×64), with
// its licence and attribution, and editing with the invariants every edit promises — on the real
// network, not an analytic stand-in.
#include "core/analytic_model.h"
#include "core/edit/region.h"
#include "core/model/model_loader.h"
#include "core/sampling/multistep.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>

namespace {

namespace fs = std::filesystem;
const fs::path kBuiltin = fs::path(CMEDIT_SOURCE_DIR) / "models" / "default";

TEST(BuiltinModel, FitsItsBudgetAndNamesItsLicenceAndData) {
  const cm::model::LoadedModel m = cm::model::load_model(kBuiltin);
  EXPECT_EQ(m.card.architecture.image_size, 64);
  EXPECT_EQ(m.card.parameterization, cm::model::Parameterization::Consistency);
  EXPECT_LE(fs::file_size(kBuiltin / m.card.weights), 16u << 20);
  EXPECT_FALSE(m.card.license.empty());
  EXPECT_TRUE(fs::exists(kBuiltin / "ATTRIBUTION.md"));
  EXPECT_EQ(m.card.default_ts.size(), 3u);
}

TEST(BuiltinModel, GeneratesAndInpaintsKeepingEveryUnmaskedPixel) {
  const cm::model::LoadedModel m = cm::model::load_model(kBuiltin);
  at::InferenceMode inference;
  const at::Tensor samples = cm::sampling::generate(*m.function, 2, 5, cm::sampling::karras_schedule(2, 80.0));
  EXPECT_EQ(samples.sizes(), (std::vector<int64_t>{2, 3, 64, 64}));
  EXPECT_TRUE(at::isfinite(samples).all().item<bool>());
  EXPECT_LE(samples.abs().max().item<double>(), 1.0);
  EXPECT_GT(samples.std().item<double>(), 0.01);  // not a constant image

  const at::Tensor photo = cm::testing::smooth_photo(90, 120);
  at::Tensor mask = at::zeros({1, 1, 90, 120});
  mask.narrow(2, 30, 20).narrow(3, 40, 30).fill_(1);
  cm::edit::EditSettings settings;
  const at::Tensor out = cm::edit::region::inpaint_photo(*m.function, photo, mask, settings);
  const cm::edit::region::RegionOptions defaults;
  const at::Tensor reach = at::max_pool2d(mask, {2 * (defaults.grow + 2 * defaults.feather) + 1}, {1},
                                          {defaults.grow + 2 * defaults.feather});
  const at::Tensor keep = (reach == 0).expand_as(photo);
  EXPECT_TRUE(at::equal(out.masked_select(keep), photo.masked_select(keep)));
  EXPECT_FALSE(at::equal(out, photo));
}

}  // namespace
