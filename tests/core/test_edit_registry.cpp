// The edit registry (core/engine/edit_registry.h), which drives the engine and the CLI: every
// entry runs, checks its inputs and settings by its declaration, explains its choices, is
// Algorithm 4 at full strength, and runs its windows at the work size its use affords.
#include "core/analytic_model.h"
#include "core/edit/edits.h"
#include "core/edit/estimates.h"
#include "core/edit/linear_operator.h"
#include "core/engine/edit_registry.h"
#include "core/engine/edit_request.h"
#include "core/engine/execute.h"
#include "core/expect_error.h"
#include "core/model/model_card.h"
#include "core/sampling/consistency_loop.h"
#include "core/sampling/schedule.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

namespace {

using cm::ErrorCode;
using cm::testing::box_mask;
using cm::testing::max_abs_diff;
namespace edit = cm::edit;
namespace engine = cm::engine;
namespace sampling = cm::sampling;

using cm::testing::analytic_card;

engine::EditRequest request_for(const engine::EditSpec& spec) {
  engine::EditRequest r;
  r.kind = spec.kind;
  for (const engine::EditSetting& s : spec.settings) s.set(r, s.fallback);
  const at::Tensor photo = cm::testing::smooth_photo(48, 40);
  if (spec.image) r.image = spec.kind == edit::EditKind::SuperResolve ? at::avg_pool2d(photo, {4, 4}) : photo;
  if (spec.mask == engine::Need::Required) r.mask = box_mask(48, 10, 10, 20, 20).narrow(3, 0, 40).contiguous();
  if (spec.kind == edit::EditKind::Interpolate) r.alphas = {0, 0.5, 1};
  return r;
}

TEST(EditRegistry, EveryRegisteredEditRunsOnTheAnalyticModel) {
  const auto f = cm::testing::analytic_model(32);
  const cm::model::ModelCard card = analytic_card();
  ASSERT_EQ(engine::edit_specs().size(), edit::all_edit_kinds().size());
  for (const engine::EditSpec& spec : engine::edit_specs()) {
    SCOPED_TRACE(spec.name());
    EXPECT_EQ(&engine::spec_of(spec.kind), &spec);
    EXPECT_EQ(engine::find_spec(spec.name()), &spec);
    engine::EditRequest r = request_for(spec);
    r.steps = 2;
    engine::Timings t;
    std::vector<double> sigmas;
    const at::Tensor out = engine::execute(f, card, r, {}, t, &sigmas);
    EXPECT_TRUE(out.isfinite().all().item<bool>());
    EXPECT_GE(out.min().item<double>(), -1.0);
    EXPECT_LE(out.max().item<double>(), 1.0);
    if (spec.has_strength) {  // the default strength (inpaint: its hole's) sets where the loop starts
      EXPECT_NEAR(sigmas.front(), sampling::sigma_for_strength(engine::strength_of(r)), 1e-9);
      EXPECT_GT(spec.strength, 0.0);
      EXPECT_LT(spec.strength, 1.0);
    } else if (spec.kind != edit::EditKind::Denoise) {
      EXPECT_EQ(sigmas.front(), 80.0);
    }
  }
}

TEST(EditRegistry, ChecksInputsAndSettingsByTheEditsDeclaration) {
  engine::EditRequest r = request_for(engine::spec_of(edit::EditKind::Inpaint));
  r.mask = at::Tensor();
  EXPECT_CM_ERROR(engine::check_request(r), ErrorCode::BadArgument, "inpaint needs a mask");
  r = request_for(engine::spec_of(edit::EditKind::Colorize));
  r.mask = at::ones({1, 1, 48, 40});
  EXPECT_CM_ERROR(engine::check_request(r), ErrorCode::BadArgument, "colorize takes no mask");
  r = request_for(engine::spec_of(edit::EditKind::SuperResolve));
  r.scale = 16;
  EXPECT_CM_ERROR(engine::check_request(r), ErrorCode::BadArgument, "superres --scale must be a whole number in 2…8, got 16");
  r = request_for(engine::spec_of(edit::EditKind::Generate));
  r.strength = 0.5;
  EXPECT_CM_ERROR(engine::check_request(r), ErrorCode::BadArgument, "generate has no strength");
  r = request_for(engine::spec_of(edit::EditKind::Sketch));
  r.strength = 1.5;
  EXPECT_CM_ERROR(engine::check_request(r), ErrorCode::BadArgument, "strength must lie in 0…100 %");
}

// A choice setting names every value from 0 to its max, each once; where it explains its choices
// (CLI usage, the editor's tooltips), it explains each of them.
TEST(EditRegistry, EveryChoiceHasAWordAndEveryExplainedChoiceALine) {
  int choice_settings = 0;
  for (const engine::EditSpec& spec : engine::edit_specs())
    for (const engine::EditSetting& s : spec.settings) {
      if (!s.choices) continue;
      ++choice_settings;
      for (int i = 0; i <= int(s.max); ++i) {
        const std::string word = engine::choice_name(s, i);
        EXPECT_EQ(engine::choice_index(s, word), i) << spec.name() << " --" << s.name << " " << word;
        if (s.choice_help) {
          EXPECT_FALSE(engine::choice_help(s, i).empty()) << spec.name() << " --" << s.name << " " << word;
        }
      }
      EXPECT_EQ(engine::choice_name(s, s.max + 1), fmt::format("{:g}", s.max + 1)) << "more words than values";
      if (s.choice_help) {
        EXPECT_TRUE(engine::choice_help(s, int(s.max) + 1).empty()) << "more lines than values";
      }
    }
  EXPECT_GE(choice_settings, 1);  // inpaint's --fill
  const engine::EditSetting& fill = *engine::find_setting(engine::spec_of(edit::EditKind::Inpaint), "fill");
  EXPECT_EQ(engine::choice_help(fill, 1), "a smooth fill from the hole's edges: fast, blurred");
}

// The editor's picker comes from the entries' picker_position: every edit but interpolation (the
// editor's Blend slider), in the order the editor has always listed them.
TEST(EditRegistry, ThePickerOffersTheEditorsEditsInItsOrder) {
  using K = edit::EditKind;
  EXPECT_EQ(engine::picker_edits(), (std::vector<K>{K::Inpaint, K::Sketch, K::Colorize, K::Denoise, K::SuperResolve, K::Generate}));
}

TEST(EditRegistry, FullStrengthWithoutAnEstimateIsAlgorithm4BitForBit) {
  // Strength 100 % is the published edit: the same result as running Algorithm 4 directly.
  const auto f = cm::testing::analytic_model(32);
  engine::EditRequest r = request_for(engine::spec_of(edit::EditKind::Inpaint));
  r.image = cm::testing::smooth_photo(32, 32);
  r.mask = box_mask(32, 4, 4, 20, 20);
  r.region.fill = edit::region::HoleFill::Smooth;  // the membrane start (exemplar fills: test_exemplar_fill.cpp)
  r.strength = 1;
  r.steps = 2;
  engine::Timings t;
  const at::Tensor out = engine::execute(f, analytic_card(), r, {}, t);
  edit::EditSettings s;
  s.schedule = sampling::karras_schedule(2, 80.0);
  EXPECT_TRUE(at::equal(out, edit::inpaint(f, r.image, r.mask, s)));
  r.strength = 0;  // strength 0 returns the estimate (the fill), up to f at ε
  const at::Tensor faithful = engine::execute(f, analytic_card(), r, {}, t);
  EXPECT_LT(max_abs_diff(faithful, edit::fill_holes(r.image, r.mask <= 0)), 1e-3);
}


TEST(EditRegistry, WindowsRunAtTheWorkSizeTheirUseAffordsOnTheCpu) {
  // A 400-px photo with a 240-px hole: its window is the photo, edited at half its side (200)
  // where the use affords it. A final result runs at inpainting's own work size; on the CPU an
  // interactive one at most at 128 px, and a draft (the live preview) at the model's size.
  const auto f = cm::testing::analytic_model(32);
  engine::EditRequest r = request_for(engine::spec_of(edit::EditKind::Inpaint));
  r.image = cm::testing::smooth_photo(400, 400);
  r.mask = box_mask(400, 80, 80, 240, 240);
  r.region.fill = edit::region::HoleFill::Smooth;  // one start for every use (a draft's own: test_exemplar_fill.cpp)
  const int own = engine::spec_of(r.kind).work_size;
  ASSERT_GT(own, engine::kCpuInteractiveWorkSize);
  engine::Timings t;
  using Use = engine::EditRequest::Use;
  const auto run = [&](Use use, int work) {
    engine::EditRequest one = r;
    one.use = use;
    one.region.max_work_size = work;
    return engine::execute(f, analytic_card(), one, {}, t);
  };
  const at::Tensor final_result = run(Use::Final, -1), interactive = run(Use::Interactive, -1), draft = run(Use::Draft, -1);
  EXPECT_TRUE(at::equal(final_result, run(Use::Final, own)));
  EXPECT_TRUE(at::equal(interactive, run(Use::Final, engine::kCpuInteractiveWorkSize)));
  EXPECT_TRUE(at::equal(draft, run(Use::Final, 0)));
  EXPECT_GT(max_abs_diff(final_result, interactive), 1e-4);
  EXPECT_GT(max_abs_diff(interactive, draft), 1e-4);
  EXPECT_TRUE(at::equal(run(Use::Draft, 64), run(Use::Final, 64)));  // a work size asked for is kept
  EXPECT_EQ(engine::work_size_of(r, /*on_cpu=*/false), own);  // a GPU affords the edit's own
}

// A CPU draft of a colorization with hints spreads them on a smaller copy (the live preview
// sooner), and its result is that of a final run asked for the same; a refinement, or any use on
// a GPU, keeps the region's own side.
TEST(EditRegistry, ADraftOnTheCpuSpreadsColourHintsAtHalfTheSide) {
  const auto f = cm::testing::analytic_model(32);
  engine::EditRequest r = request_for(engine::spec_of(edit::EditKind::Colorize));
  r.image = edit::grey_of(cm::testing::smooth_photo(300, 1400)).contiguous();
  r.hints = at::tensor({0.6f, -0.2f, -0.4f}).view({1, 3, 1, 1}).expand({1, 3, 300, 1400}).contiguous();
  r.hint_mask = at::zeros({1, 1, 300, 1400});
  r.hint_mask.narrow(2, 120, 20).narrow(3, 200, 20).fill_(1);
  using Use = engine::EditRequest::Use;
  const auto resolved = [&](Use use, bool on_cpu) {
    engine::EditRequest one = r;
    one.use = use;
    return engine::resolved(one, on_cpu).region.hint_side;
  };
  const int own = edit::region::RegionOptions{}.hint_side;
  EXPECT_EQ(resolved(Use::Draft, true), engine::kCpuDraftHintSide);
  EXPECT_LT(engine::kCpuDraftHintSide, own);
  EXPECT_EQ(resolved(Use::Interactive, true), own);
  EXPECT_EQ(resolved(Use::Draft, false), own);
  engine::Timings t;
  engine::EditRequest draft = r, final_at_half = r;
  draft.use = Use::Draft;
  final_at_half.region.hint_side = engine::kCpuDraftHintSide;
  final_at_half.region.max_work_size = 0;  // the draft's work size
  const at::Tensor drafted = engine::execute(f, analytic_card(), draft, {}, t);
  EXPECT_TRUE(at::equal(drafted, engine::execute(f, analytic_card(), final_at_half, {}, t)));
  EXPECT_GT(max_abs_diff(drafted, engine::execute(f, analytic_card(), r, {}, t)), 1e-4) << "the side made no difference";
}

// The editor sends only its hints' box (EditRequest::hints_y, hints_x): the colorization is the
// one of the same hints at the image's size, and a box reaching outside the image is refused.
TEST(EditRegistry, ColourHintsSentAsTheirBoxColorizeAsTheWholeDoes) {
  const auto f = cm::testing::analytic_model(32);
  engine::EditRequest whole = request_for(engine::spec_of(edit::EditKind::Colorize));
  whole.image = edit::grey_of(cm::testing::smooth_photo(90, 120)).contiguous();
  whole.hints = at::zeros({1, 3, 90, 120});
  whole.hint_mask = at::zeros({1, 1, 90, 120});
  whole.hints.narrow(2, 30, 8).narrow(3, 50, 12).copy_(at::tensor({0.6f, -0.2f, -0.4f}).view({1, 3, 1, 1}).expand({1, 3, 8, 12}));
  whole.hint_mask.narrow(2, 30, 8).narrow(3, 50, 12).fill_(1);
  engine::EditRequest box = whole;
  box.hints = whole.hints.narrow(2, 28, 16).narrow(3, 48, 20).contiguous();
  box.hint_mask = whole.hint_mask.narrow(2, 28, 16).narrow(3, 48, 20).contiguous();
  box.hints_y = 28;
  box.hints_x = 48;
  engine::Timings t;
  const at::Tensor expected = engine::execute(f, analytic_card(), whole, {}, t);
  EXPECT_TRUE(at::equal(engine::execute(f, analytic_card(), box, {}, t), expected));
  engine::EditRequest elsewhere = box;
  elsewhere.hints_x = 0;  // the same hints further left: another colorization
  EXPECT_GT(max_abs_diff(engine::execute(f, analytic_card(), elsewhere, {}, t), expected), 1e-4);
  box.hints_x = 110;  // 20 columns from 110 in a 120-column image
  EXPECT_CM_ERROR(engine::execute(f, analytic_card(), box, {}, t), ErrorCode::ShapeMismatch, "do not lie inside the 120×90 image");
}

// A GPU denoises its tiles in groups (launch-bound one at a time); a CPU one at a time, where a
// group is no faster; other edits never.
TEST(EditRegistry, ADenoiseOnAGpuTakesItsTilesInGroups) {
  engine::EditRequest r = request_for(engine::spec_of(edit::EditKind::Denoise));
  EXPECT_EQ(engine::resolved(r, /*on_cpu=*/false).region.tile_batch, engine::kGpuDenoiseBatch);
  EXPECT_EQ(engine::resolved(r, /*on_cpu=*/true).region.tile_batch, 1);
  // Its tiles' four mirrors too, where they cost little more than one; one on a CPU unless asked.
  EXPECT_EQ(engine::resolved(r, /*on_cpu=*/false).region.mirrors, 4);
  EXPECT_EQ(engine::resolved(r, /*on_cpu=*/true).region.mirrors, 1);
  engine::find_setting(engine::spec_of(edit::EditKind::Denoise), "mirrors")->set(r, 2);
  EXPECT_EQ(engine::resolved(r, /*on_cpu=*/true).region.mirrors, 2);
  r.kind = edit::EditKind::SuperResolve;
  EXPECT_EQ(engine::resolved(r, /*on_cpu=*/false).region.tile_batch, 1);
}

}  // namespace
