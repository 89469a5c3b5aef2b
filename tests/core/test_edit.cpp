#include "core/analytic_model.h"
#include "core/edit/algorithm4.h"
#include "core/edit/edit_kind.h"
#include "core/edit/edits.h"
#include "core/edit/estimates.h"
#include "core/edit/linear_operator.h"
#include "core/edit/mask.h"
#include "core/expect_error.h"
#include "core/golden_dir.h"
#include "core/sampling/multistep.h"
#include "core/sampling/noise.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>

namespace {

using cm::ErrorCode;
using namespace cm::edit;

TEST(EditKind, NamesRoundTrip) {
  for (EditKind kind : all_edit_kinds()) EXPECT_EQ(parse_edit_kind(to_string(kind)), kind);
  EXPECT_EQ(parse_edit_kind("superres"), EditKind::SuperResolve);
}

TEST(EditKind, UnknownNameListsTheValidOnes) {
  EXPECT_CM_ERROR(parse_edit_kind("blur"), ErrorCode::BadArgument,
                  "unknown edit 'blur' (expected one of: generate, inpaint, colorize, superres, sketch, denoise, interpolate)");
}

TEST(Mask, AcceptsAMaskOfTheImagesSize) {
  const at::Tensor image = at::zeros({1, 3, 48, 64});
  EXPECT_NO_THROW(validate_mask(image, at::ones({1, 1, 48, 64})));
  EXPECT_NO_THROW(validate_mask(image, at::full({1, 1, 48, 64}, 0.5)));  // feathered
}

TEST(Mask, SizeMismatchNamesBothSizes) {
  const at::Tensor image = at::zeros({1, 3, 48, 64});
  EXPECT_CM_ERROR(validate_mask(image, at::ones({1, 1, 64, 48})), ErrorCode::ShapeMismatch,
                  "the mask is 48×64 pixels but the image is 64×48");
}

TEST(Mask, RejectsMasksThatAreNotMasks) {
  const at::Tensor image = at::zeros({2, 3, 8, 8});
  EXPECT_CM_ERROR(validate_mask(image, at::ones({1, 3, 8, 8})), ErrorCode::BadArgument, "single-channel");
  EXPECT_CM_ERROR(validate_mask(image, at::full({1, 1, 8, 8}, 2.0)), ErrorCode::BadArgument, "[0, 1]");
  EXPECT_CM_ERROR(validate_mask(image, at::full({1, 1, 8, 8}, NAN)), ErrorCode::BadArgument, "NaN");
  EXPECT_CM_ERROR(validate_mask(image, at::ones({3, 1, 8, 8})), ErrorCode::ShapeMismatch, "3 masks were given for 2 images");
  EXPECT_NO_THROW(validate_mask(image, at::ones({2, 1, 8, 8})));
}

}  // namespace

// ---- operators ------------------------------------------------------------------------------

namespace {

using cm::testing::max_abs_diff;

at::Tensor read_floats(const std::filesystem::path& path, at::IntArrayRef shape) {
  std::ifstream in(path, std::ios::binary);
  at::Tensor t = at::empty(shape, at::kFloat);
  in.read(reinterpret_cast<char*>(t.data_ptr<float>()), std::streamsize(t.numel() * sizeof(float)));
  EXPECT_TRUE(in.good()) << path;
  return t;
}

at::Tensor random_image(int64_t b, int64_t c, int64_t h, int64_t w, uint64_t seed = 1) {
  return cm::sampling::NoiseField(seed).crop(0, {b, c, 0, 0, h, w}).mul(0.4).clamp(-1, 1);
}

TEST(Operators, AreOrthogonalWithTheSpecsFirstColumn) {
  const LumaChromaOperator color;
  const at::Tensor q = color.basis();
  EXPECT_LE(max_abs_diff(q.t().matmul(q), at::eye(3, at::kDouble)), 1e-14);
  EXPECT_LE(max_abs_diff(q.select(1, 0), at::tensor({0.447113, 0.878072, 0.170528}, at::kDouble)), 1e-6);
  for (int k : {2, 4, 8}) {
    const PatchBasisOperator patch(k);
    const at::Tensor p = patch.basis();
    EXPECT_LE(max_abs_diff(p.t().matmul(p), at::eye(k * k, at::kDouble)), 1e-13) << k;
    EXPECT_LE(max_abs_diff(p.select(1, 0), at::full({k * k}, 1.0 / k, at::kDouble)), 1e-15) << k;
    const at::Tensor x = random_image(2, 3, 16, 24);
    EXPECT_LE(max_abs_diff(patch.inverse(patch.forward(x)), x), 1e-6) << k;
    // Coefficient 0 is k·(patch mean).
    EXPECT_LE(max_abs_diff(patch.forward(x).select(4, 0) / k, at::avg_pool2d(x, {k, k})), 1e-6) << k;
  }
  const at::Tensor x = random_image(2, 3, 8, 8);
  EXPECT_LE(max_abs_diff(color.inverse(color.forward(x)), x), 1e-6);
  EXPECT_CM_ERROR(PatchBasisOperator(8).forward(random_image(1, 3, 12, 16)), ErrorCode::ShapeMismatch,
                  "does not split into 8×8 patches");
}

// The official code's bases (golden set) share our first columns; nothing else of Q matters.
TEST(Operators, FirstColumnsMatchTheOfficialBases) {
  REQUIRE_GOLDEN();
  const auto dir = cm::testing::golden_dir() / "unet_a";
  EXPECT_LE(max_abs_diff(read_floats(dir / "edit_Q_color.bin", {3, 3}).select(1, 0), LumaChromaOperator().basis().select(1, 0)), 1e-7);
  EXPECT_LE(max_abs_diff(read_floats(dir / "edit_Q_superres.bin", {64, 64}).select(1, 0), PatchBasisOperator(8).basis().select(1, 0)), 1e-7);
}

// A stand-in for the network that returns a fixed tensor whatever it is asked: the official
// test "distiller" of the golden editing files.
class StubModel final : public cm::model::ConsistencyFunction {
 public:
  explicit StubModel(at::Tensor out) : out_(std::move(out)) { spec_.image_size = int(out_.size(2)); }
  at::Tensor operator()(const at::Tensor&, const at::Tensor&, const at::Tensor&) const override { return out_; }
  const cm::model::ModelSpec& spec() const override { return spec_; }

 private:
  at::Tensor out_;
  cm::model::ModelSpec spec_;
};

struct GoldenEdit : ::testing::Test {
  void SetUp() override {
    REQUIRE_GOLDEN();
    dir = cm::testing::golden_dir() / "unet_a";
    image = read_floats(dir / "edit_img.bin", {2, 3, 32, 32});
    stub_out = read_floats(dir / "edit_stub_model_out.bin", {2, 3, 32, 32});
    settings.schedule = cm::sampling::schedule_from_ts({0, 39}, 40);
    settings.keep_in_range = false;  // the official output is unbounded
  }
  std::filesystem::path dir;
  at::Tensor image, stub_out;
  EditSettings settings;
};

TEST_F(GoldenEdit, ColorizationReproducesTheOfficialProjection) {
  const StubModel stub(stub_out);
  const auto op = std::make_shared<LumaChromaOperator>();
  at::Tensor generate = at::ones({1, 3, 1, 1}, at::kBool);
  generate[0][0] = false;
  const KnownPart known(op, image, generate);
  EXPECT_LE(max_abs_diff(known.preprojected_reference(), read_floats(dir / "edit_color_ref.bin", {2, 3, 32, 32})), 2e-6);
  EXPECT_LE(max_abs_diff(colorize(stub, image, settings), read_floats(dir / "edit_color_out.bin", {2, 3, 32, 32})), 2e-6);
}

TEST_F(GoldenEdit, SuperResolutionReproducesTheOfficialProjection) {
  const StubModel stub(stub_out);
  const at::Tensor low_res = at::avg_pool2d(image, {8, 8});
  at::Tensor generate = at::ones({64}, at::kBool);
  generate[0] = false;
  const KnownPart known(std::make_shared<PatchBasisOperator>(8), low_res.repeat_interleave(8, 2).repeat_interleave(8, 3), generate);
  EXPECT_LE(max_abs_diff(known.preprojected_reference(), read_floats(dir / "edit_superres_ref.bin", {2, 3, 32, 32})), 2e-6);
  EXPECT_LE(max_abs_diff(super_resolve(stub, low_res, 8, settings), read_floats(dir / "edit_superres_out.bin", {2, 3, 32, 32})), 2e-6);
}

TEST(KnownPart, RefusesAMaskThatDoesNotFitTheCoefficients) {
  EXPECT_CM_ERROR(KnownPart(std::make_shared<IdentityOperator>(), at::zeros({1, 3, 8, 8}), at::ones({1, 1, 4, 8}, at::kBool)),
                  ErrorCode::ShapeMismatch, "cannot cover [1, 3, 8, 8] coefficients of operator identity");
}

// ---- edits at the model's size, with the analytic model ------------------------------------------

EditSettings steps(int n, double sigma_start = 80.0, uint64_t seed = 3) {
  EditSettings s;
  s.schedule = cm::sampling::karras_schedule(n, sigma_start);
  s.seed = seed;
  return s;
}

at::Tensor blob_mask(int64_t h, int64_t w) {
  at::Tensor m = at::zeros({1, 1, h, w});
  m.narrow(2, h / 4, h / 3).narrow(3, w / 5, w / 2).fill_(1);
  m.narrow(2, 2, 3).narrow(3, w - 7, 5).fill_(1);
  return m;
}

TEST(Inpaint, PixelsOutsideTheMaskAreBitIdentical) {
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor image = random_image(2, 3, 64, 64), mask = blob_mask(64, 64);
  const at::Tensor out = inpaint(f, image, mask, steps(4));
  const at::Tensor keep = (mask == 0).expand_as(image);
  EXPECT_TRUE(at::equal(out.masked_select(keep), image.masked_select(keep)));
  EXPECT_GT((out - image).abs().masked_select(keep.logical_not()).mean().item<double>(), 0.05);  // it did generate
  EXPECT_CM_ERROR(inpaint(f, image, at::ones({1, 1, 32, 64}), steps(1)), ErrorCode::ShapeMismatch, "the mask is 64×32 pixels");
  EXPECT_CM_ERROR(inpaint(f, at::full_like(image, NAN), mask, steps(1)), ErrorCode::BadArgument, "NaN");
}

TEST(Inpaint, GeneratedPixelsFollowTheModel) {
  // With the whole image masked, inpainting is sampling: the analytic model's mean comes back.
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor out = inpaint(f, at::zeros({1, 3, 64, 64}), at::ones({1, 1, 64, 64}), steps(2));
  EXPECT_NEAR(out.mean().item<double>(), cm::testing::kDataMean, 0.01);
  EXPECT_NEAR(out.std().item<double>(), cm::testing::kDataStd, 0.01);
}

at::Tensor luma(const at::Tensor& x) { return LumaChromaOperator().forward(x).narrow(1, 0, 1); }
at::Tensor chroma(const at::Tensor& x) { return LumaChromaOperator().forward(x).narrow(1, 1, 2); }

TEST(Colorize, KeepsTheLumaAndTheHintedChroma) {
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor grey = random_image(1, 1, 64, 64, 8).expand({1, 3, 64, 64});
  const at::Tensor out = colorize(f, grey, steps(3));
  EXPECT_LE(max_abs_diff(luma(out), luma(grey)), 1e-5);
  EXPECT_GT(chroma(out).abs().mean().item<double>(), 0.01);  // colour was generated

  at::Tensor hint_mask = at::zeros({1, 1, 64, 64});
  hint_mask.narrow(2, 10, 4).narrow(3, 20, 4).fill_(1);
  hint_mask.narrow(2, 40, 2).narrow(3, 5, 30).fill_(1);
  const at::Tensor hints = at::tensor({0.8f, -0.3f, 0.1f}).view({1, 3, 1, 1}).expand({1, 3, 64, 64}).contiguous();
  const at::Tensor hinted = colorize(f, grey, steps(3), hints, hint_mask);
  EXPECT_LE(max_abs_diff(luma(hinted), luma(grey)), 1e-5);
  const at::Tensor at_hints = (hint_mask > 0).expand({1, 2, 64, 64});
  // The hint's colour at the photo's luma (its offset from grey), brought into range keeping the luma.
  EXPECT_LE(max_abs_diff(chroma(hinted).masked_select(at_hints),
                         chroma(fit_range_keeping_luma(hint_at_luma(grey, hints))).masked_select(at_hints)), 1e-5);
  // A white hint keeps its pixels grey at their own brightness (its chroma coefficients with the
  // photo's luma made a white dab on a sky magenta).
  const at::Tensor white = colorize(f, grey, steps(3), at::ones({1, 3, 64, 64}), hint_mask).masked_select(at_hints.narrow(1, 0, 1).expand({1, 3, 64, 64})).view({3, -1});
  EXPECT_LE((white - white.mean(0, true)).abs().max().item<double>(), 1e-5) << "R = G = B under a white hint";
  // A one-channel grey image is the same as its RGB replica.
  EXPECT_TRUE(at::allclose(colorize(f, grey.narrow(1, 0, 1), steps(3)), out));
  EXPECT_CM_ERROR(colorize(f, grey, steps(1), hints), ErrorCode::BadArgument, "both their colours and where they are");
}

TEST(SuperResolve, EveryPatchMeanIsTheLowResPixel) {
  const auto f = cm::testing::analytic_model(64);
  for (int k : {2, 4, 8}) {
    const at::Tensor low = random_image(2, 3, 64 / k, 64 / k, k);
    const at::Tensor out = super_resolve(f, low, k, steps(3));
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, 64, 64}));
    EXPECT_LE(max_abs_diff(at::avg_pool2d(out, {k, k}), low), 1e-5) << "×" << k;
    EXPECT_GT((out - low.repeat_interleave(k, 2).repeat_interleave(k, 3)).abs().mean().item<double>(), 0.01);
  }
  EXPECT_CM_ERROR(super_resolve(f, random_image(1, 3, 8, 8), 3, steps(1)), ErrorCode::BadArgument, "by 2, 4 or 8, not 3");
}

TEST(Sketch, StrengthEpsilonReturnsThePainting) {
  const auto f = cm::testing::analytic_model(32);
  const at::Tensor painting = random_image(1, 3, 32, 32);
  EXPECT_LE(max_abs_diff(sketch(f, painting, steps(1, 0.002)), painting), 1e-6);
  // A real strength changes it, pulling it toward the model's data.
  const at::Tensor redrawn = sketch(f, painting, steps(2, 2.0));
  EXPECT_GT(max_abs_diff(redrawn, painting), 0.1);
}

TEST(Sketch, AMaskConfinesTheChange) {
  const auto f = cm::testing::analytic_model(32);
  const at::Tensor painting = random_image(1, 3, 32, 32), mask = blob_mask(32, 32);
  const at::Tensor out = sketch(f, painting, steps(2, 5.0), mask);
  const at::Tensor keep = (mask == 0).expand_as(painting);
  EXPECT_TRUE(at::equal(out.masked_select(keep), painting.masked_select(keep)));
  EXPECT_GT(max_abs_diff(out, painting), 0.1);
}

TEST(Denoise, IsOneEvaluationAtTheNoiseLevel) {
  const auto f = cm::testing::analytic_model(32);
  const at::Tensor noisy = random_image(1, 3, 32, 32) * 0.5;
  const double k = cm::testing::analytic_gain(0.3);
  const at::Tensor expected = ((noisy - cm::testing::kDataMean) * k + cm::testing::kDataMean).clamp(-1, 1);
  EXPECT_LE(max_abs_diff(denoise(f, noisy, 0.3), expected), 1e-6);
}

TEST(Denoise, EstimatesTheNoiseLevelOfAPhoto) {
  const at::Tensor photo = cm::testing::smooth_photo(256, 256);
  for (double sigma : {0.02, 0.1, 0.3}) {
    const at::Tensor noisy = photo + sigma * cm::sampling::NoiseField(4).crop(0, {1, 3, 0, 0, 256, 256});
    EXPECT_NEAR(estimate_noise_sigma(noisy), sigma, 0.05 * sigma) << sigma;
  }
  EXPECT_LT(estimate_noise_sigma(photo), 0.002);
  // In 8-bit pixels, as a file holds a photo: the coefficients tie on a grid of half levels, and
  // the level still comes out within 5 % of the noise's (with the rounding's own 1/12 level²).
  for (double levels : {1.0, 2.0, 5.0}) {
    const at::Tensor z = cm::sampling::NoiseField(6).crop(0, {1, 3, 0, 0, 256, 256});
    const at::Tensor eight_bit = ((0.5 * photo + levels / 127.5 * z + 1) * 127.5).round().clamp(0, 255) / 127.5 - 1;
    const double expected = std::sqrt(levels * levels + 1.0 / 12) / 127.5;
    EXPECT_NEAR(estimate_noise_sigma(eight_bit), expected, 0.05 * expected) << levels << " levels";
  }
  // σ ≤ 0 asks denoise to estimate it.
  const auto f = cm::testing::analytic_model(64);
  const at::Tensor noisy = photo + 0.1 * cm::sampling::NoiseField(5).crop(0, {1, 3, 0, 0, 256, 256});
  EXPECT_TRUE(at::equal(denoise(f, noisy, 0), denoise(f, noisy, estimate_noise_sigma(noisy))));
}

TEST(Interpolate, EndpointsAreTheTwoSeedsSamples) {
  const auto f = cm::testing::analytic_model(32);
  const EditSettings s = steps(2);
  const at::Tensor a = cm::sampling::generate(f, 1, 11, s.schedule), b = cm::sampling::generate(f, 1, 12, s.schedule);
  EXPECT_TRUE(at::equal(interpolate(f, 1, 11, 12, 0.0, s), a));
  EXPECT_TRUE(at::equal(interpolate(f, 1, 11, 12, 1.0, s), b));
  const at::Tensor mid = interpolate(f, 1, 11, 12, 0.5, s);
  EXPECT_GT(max_abs_diff(mid, a), 0.05);
  EXPECT_GT(max_abs_diff(mid, b), 0.05);
  EXPECT_NEAR(mid.std().item<double>(), a.std().item<double>(), 0.02);  // slerp keeps the noise's scale
  EXPECT_CM_ERROR(interpolate(f, 1, 11, 12, 1.5, s), ErrorCode::BadArgument, "α must lie in [0, 1]");
}

TEST(Edits, SameSeedSameResult) {
  const auto f = cm::testing::analytic_model(32);
  const at::Tensor image = random_image(1, 3, 32, 32), mask = blob_mask(32, 32);
  EXPECT_TRUE(at::equal(inpaint(f, image, mask, steps(3, 80, 1)), inpaint(f, image, mask, steps(3, 80, 1))));
  EXPECT_FALSE(at::equal(inpaint(f, image, mask, steps(3, 80, 1)), inpaint(f, image, mask, steps(3, 80, 2))));
}

}  // namespace

namespace {

TEST(KeepInRange, PullsPixelsInWithoutTouchingTheKnownPart) {
  const at::Tensor wild = cm::sampling::NoiseField(21).crop(0, {1, 3, 0, 0, 16, 16}) * 1.5;  // far out of range
  const at::Tensor luma_kept = fit_range_keeping_luma(wild.clamp(-1.4, 1.4) * 0.9);
  EXPECT_LE(luma_kept.abs().max().item<float>(), 1.f);
  // Luma is kept wherever the grey of that luma is itself in range.
  const at::Tensor q0 = luma_direction().to(at::kFloat).view({1, 3, 1, 1});
  const at::Tensor in = (wild * 0.5).clamp(-1.2, 1.2);
  const at::Tensor out = fit_range_keeping_luma(in);
  const at::Tensor luma_in = (in * q0).sum(1), grey_in_range = (luma_in / q0.sum()).abs() <= 1;
  EXPECT_LE(max_abs_diff((out * q0).sum(1).masked_select(grey_in_range), luma_in.masked_select(grey_in_range)), 1e-5);
  EXPECT_GT(grey_in_range.to(at::kFloat).mean().item<float>(), 0.5f);
  EXPECT_LE(out.abs().max().item<float>(), 1.f);
  // In-range pixels are not touched at all, also beside pixels that are out, in a batch.
  const at::Tensor tame = in.clamp(-1, 1);
  EXPECT_TRUE(at::equal(fit_range_keeping_luma(tame), tame));
  const at::Tensor both = at::cat({in, tame}, 0), fitted_both = fit_range_keeping_luma(both);
  const at::Tensor inside = both.abs().le(1).all(1, true).expand_as(both);
  EXPECT_TRUE(at::equal(fitted_both.masked_select(inside), both.masked_select(inside)));
  EXPECT_TRUE(at::equal(fitted_both.narrow(0, 0, 1), out)) << "each image of a batch as it is alone";
  EXPECT_TRUE(at::equal(fitted_both.narrow(0, 1, 1), tame));

  const at::Tensor low = cm::sampling::NoiseField(22).crop(0, {1, 3, 0, 0, 4, 4}).mul(0.3).clamp(-0.9, 0.9);
  const at::Tensor patches = low.repeat_interleave(4, 2).repeat_interleave(4, 3) + wild;  // mean = low, range ±5
  const at::Tensor fitted = fit_range_keeping_patch_means(patches - at::avg_pool2d(wild, {4, 4}).repeat_interleave(4, 2).repeat_interleave(4, 3), 4);
  EXPECT_LE(fitted.abs().max().item<float>(), 1.f);
  EXPECT_LE(max_abs_diff(at::avg_pool2d(fitted, {4, 4}), low), 1e-5);
}

}  // namespace

namespace {

TEST(Variations, BlendingTwoSeedsEndsExactlyAtEachSeedsResult) {
  const auto f = cm::testing::analytic_model(32);
  const at::Tensor image = random_image(1, 3, 32, 32), mask = blob_mask(32, 32);
  EditSettings s = steps(2, 80, 5);
  const at::Tensor a = inpaint(f, image, mask, s);
  s.seed = 6;
  const at::Tensor b = inpaint(f, image, mask, s);
  s.seed = 5;
  s.blend_seeds = true;
  s.blend_seed = 6;
  s.blend = 0;
  EXPECT_TRUE(at::equal(inpaint(f, image, mask, s), a));
  s.blend = 1;
  EXPECT_TRUE(at::equal(inpaint(f, image, mask, s), b));
  s.blend = 0.5;
  const at::Tensor mid = inpaint(f, image, mask, s);
  EXPECT_GT(max_abs_diff(mid, a), 0.01);
  EXPECT_GT(max_abs_diff(mid, b), 0.01);
  const at::Tensor keep = (mask == 0).expand_as(image);
  EXPECT_TRUE(at::equal(mid.masked_select(keep), image.masked_select(keep)));
  s.blend = 2;
  EXPECT_CM_ERROR(inpaint(f, image, mask, s), ErrorCode::BadArgument, "must lie in [0, 1], got 2");
}

}  // namespace
