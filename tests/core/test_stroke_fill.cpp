// A brush stroke across texture at the photo's own pixels (core/edit/region_windows.cpp): from
// kLargeHoleDepth deep it starts from the photo's patches, not from a membrane with the edge's
// detail mirrored in (a smooth streak down its middle), and along a long stroke those patches are
// copied a stretch at a time, not once for every window.
#include "core/analytic_model.h"
#include "core/base/cancel.h"
#include "core/base/error.h"
#include "core/edit/exemplar_fill.h"
#include "core/edit/mask_windows.h"
#include "core/edit/region.h"
#include "core/edit/region_starts.h"
#include "core/engine/edit_request.h"
#include "core/engine/execute.h"
#ifdef CMEDIT_HAS_IMAGEIO
#include "core/imageio/image_file.h"
#endif
#include "core/model/model_card.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <atomic>

namespace cm {
namespace {

namespace engine = cm::engine;
using testing::texture_energy;

// A grey texture of blobs a few pixels across (noise under a 3×3 mean), [1,3,height,width].
at::Tensor blobs(int64_t height, int64_t width) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(17);
  const at::Tensor noise = at::rand({1, 1, height, width}, gen) * 2 - 1;
  return (at::avg_pool2d(noise, {3, 3}, {1, 1}, {1, 1}, false, false) * 1.2).clamp(-1, 1).expand({1, 3, height, width}).contiguous();
}

// A horizontal stroke `width` px across, from column 8 to 8 px before the right edge, [1,1,H,W].
at::Tensor stroke(int64_t height, int64_t length, int64_t y0, int64_t width) {
  at::Tensor m = at::zeros({1, 1, height, length});
  m.narrow(2, y0, width).narrow(3, 8, length - 16).fill_(1);
  return m;
}

// A stroke `width` px across that waves up and down `amplitude` px about the middle row: a stroke,
// not one object (it covers under a quarter of its box), [1,1,H,W].
at::Tensor wave(int64_t height, int64_t length, int64_t width, double amplitude) {
  const at::Tensor y = at::arange(height, at::kFloat).view({-1, 1}), x = at::arange(length, at::kFloat).view({1, -1});
  const at::Tensor centre = height / 2.0 + amplitude * at::sin(x * (2 * M_PI / 400));
  const at::Tensor inside = ((y - centre).abs() < width / 2.0) & (x >= 8) & (x < length - 8);
  return inside.to(at::kFloat).view({1, 1, height, length});
}

engine::EditRequest at_its_start(const at::Tensor& photo, const at::Tensor& mask) {
  engine::EditRequest r;
  r.kind = edit::EditKind::Inpaint;
  r.image = photo * (1 - mask);
  r.mask = mask;
  r.strength = 0;  // the start itself: what the model refines
  return r;
}

// A 34-px stroke (17 deep) across blobs: from the patches its middle is as textured as the photo;
// from the membrane with the edge's detail mirrored in it is a smooth streak, the detail fading
// towards its middle (on a 20 MP photo of bark, a 36-px stroke came back as a grey band).
TEST(StrokeFill, AStrokeTwiceTheDepthWideStartsFromThePhotosPatchesAndKeepsItsTexture) {
  const auto f = testing::analytic_model(32);
  const int64_t height = 100, width = 224, y0 = 33, across = 34;
  const at::Tensor photo = blobs(height, width), mask = stroke(height, width, y0, across);
  at::Tensor middle = at::zeros_like(mask);
  middle.narrow(2, y0 + 8, across - 16).narrow(3, 16, width - 32).fill_(1);
  const double photos = texture_energy(photo, 1 - mask);
  engine::Timings t;
  engine::EditRequest r = at_its_start(photo, mask);
  ASSERT_TRUE(edit::region::uses_exemplar(mask, r.region));
  const at::Tensor copied = engine::execute(f, testing::analytic_card(), r, {}, t);
  EXPECT_TRUE(at::equal(copied * (1 - mask), r.image)) << "every pixel outside the mask as it was";
  r.region.exemplar_depth = 32;  // the rule before: a stroke up to 64 px across was healed
  ASSERT_FALSE(edit::region::uses_exemplar(mask, r.region));
  const at::Tensor healed = engine::execute(f, testing::analytic_card(), r, {}, t);
  const double from_patches = texture_energy(copied, middle) / photos, from_mirror = texture_energy(healed, middle) / photos;
  EXPECT_GT(from_patches, 0.6) << "the middle of the stroke as textured as the photo";
  EXPECT_LT(from_mirror, 0.45) << "the mirrored detail fades towards the middle: the case this is for";
  // Narrower than twice kLargeHoleDepth it stays healed: a mirror costs nothing, and a wire's few
  // pixels take little texture.
  EXPECT_FALSE(edit::region::uses_exemplar(stroke(height, width, y0, 2 * edit::region::kLargeHoleDepth - 2), {}));
  EXPECT_TRUE(edit::region::uses_exemplar(stroke(height, width, y0, 2 * edit::region::kLargeHoleDepth), {}));
}

// Along a long stroke the windows are about two model sizes apart; each made its own fill of its
// surroundings, twice its side, so every hole pixel was filled three or four times over (a 36-px
// stroke 2,300 px long on a 20 MP photo: 51 fills, 64 s). A fill now serves the windows after it
// as long as they lie within its stretch, and the stroke comes back the same for a second run.
TEST(StrokeFill, ALongStrokeIsCopiedAStretchAtATimeNotOnceAWindow) {
  const auto f = testing::analytic_model(32);
  const int64_t height = 160, width = 800;
  const at::Tensor photo = blobs(height, width), mask = wave(height, width, 34, 60);
  edit::region::WindowRules rules;
  rules.model_size = 32;
  rules.max_work = 32;
  const std::size_t windows = edit::region::plan_windows(mask, rules).windows.size();
  edit::ExemplarCache cache(64);
  const engine::RunContext cached{{}, &cache};
  engine::Timings t;
  const engine::EditRequest r = at_its_start(photo, mask);
  const at::Tensor first = engine::execute(f, testing::analytic_card(), r, cached, t);
  EXPECT_GE(windows, 12u);
  EXPECT_LE(cache.fills(), windows / 6) << "a fill for every few windows, not one for each";
  EXPECT_GE(cache.fills(), 3u) << "the stroke is longer than one stretch";
  EXPECT_TRUE(at::equal(engine::execute(f, testing::analytic_card(), r, cached, t), first)) << "the same fills from the cache";
  EXPECT_EQ(cache.hits(), cache.fills());
  EXPECT_TRUE(at::equal(first * (1 - mask), r.image));
}

// On the CPU a window's fill is made on another thread while the model edits the windows before
// it (region_starts.h, PreparedWindows): the fills read the photo, the mask and the earlier
// windows' starts, never their results, so the stroke is the same bit for bit, inpainted or
// sketched, as when each window's fill came before its evaluation on one thread.
// The fills are made ahead where the model runs on one thread (the engine's choice on 2 cores).
struct OneThread {
  const int before = at::get_num_threads();
  OneThread() { at::set_num_threads(1); }
  ~OneThread() { at::set_num_threads(before); }
};

TEST(StrokeFill, FillsMadeAheadOnAnotherThreadGiveTheSameStroke) {
  const OneThread one;
  const auto f = testing::analytic_model(32);
  const int64_t height = 160, width = 800;
  const at::Tensor photo = blobs(height, width), mask = wave(height, width, 34, 60);
  engine::Timings t;
  for (const edit::EditKind kind : {edit::EditKind::Inpaint, edit::EditKind::Sketch}) {
    engine::EditRequest r = at_its_start(photo, mask);
    r.kind = kind;
    if (kind == edit::EditKind::Sketch) r.image = at::where(mask > 0, at::full_like(photo, 0.6), photo);
    r.strength = 0.5;  // the model's change on the start, window by window
    ASSERT_TRUE(edit::region::uses_exemplar(mask, r.region));
    edit::ExemplarCache cache(64);
    const std::size_t threads_before = edit::region::detail::windows_prepared_ahead();
    const at::Tensor ahead = engine::execute(f, testing::analytic_card(), r, {{}, &cache}, t);
    // From the cache the thread runs far ahead of the model: a start that was a view of the
    // copy it goes on writing changed under its window.
    const at::Tensor far_ahead = engine::execute(f, testing::analytic_card(), r, {{}, &cache}, t);
    ASSERT_EQ(cache.hits(), cache.fills());
    ASSERT_EQ(edit::region::detail::windows_prepared_ahead(), threads_before + 2) << "both made their fills ahead";
    r.region.prepare_ahead = false;
    const at::Tensor in_turn = engine::execute(f, testing::analytic_card(), r, {}, t);
    ASSERT_EQ(edit::region::detail::windows_prepared_ahead(), threads_before + 2) << "and this one in turn";
    EXPECT_TRUE(at::equal(ahead, in_turn)) << edit::to_string(kind) << ": " << (ahead - in_turn).abs().max().item<double>();
    EXPECT_TRUE(at::equal(far_ahead, in_turn)) << edit::to_string(kind) << ": " << (far_ahead - in_turn).abs().max().item<double>();
    EXPECT_FALSE(at::equal(ahead, r.image)) << "the stroke was edited";
  }
}

// A job stopped while its fills are made ahead stops them too: the thread asks the job's check,
// and is joined before the edit returns (it writes into the edit's copy of the photo).
TEST(StrokeFill, StoppingAnEditStopsTheFillsMadeAhead) {
  const OneThread one;
  const auto f = testing::analytic_model(32);
  const int64_t height = 160, width = 1600;
  const at::Tensor photo = blobs(height, width), mask = wave(height, width, 34, 60);
  engine::EditRequest r = at_its_start(photo, mask);
  edit::ExemplarCache all(64);
  engine::Timings t;
  engine::execute(f, testing::analytic_card(), r, {{}, &all}, t);
  ASSERT_GE(all.fills(), 4u);
  std::atomic<bool> stop{false};
  r.region.on_window = [&](int64_t, int64_t, const at::Tensor&) { stop = true; };  // after the first window
  edit::ExemplarCache made(64);
  const std::size_t threads_before = edit::region::detail::windows_prepared_ahead();
  const CancelScope scope([&] { return stop.load(); });
  try {
    engine::execute(f, testing::analytic_card(), r, {{}, &made}, t);
    ADD_FAILURE() << "the edit went on";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Cancelled) << e.what();
  }
  EXPECT_EQ(edit::region::detail::windows_prepared_ahead(), threads_before + 1);
  EXPECT_LT(made.fills(), all.fills()) << "the fills after the stop were not made";
}

#ifdef CMEDIT_HAS_IMAGEIO
// A sketch's stroke starts from the photo's patches with its paint carried onto them (carry_paint:
// the copy's detail, the painting's colour), a stretch at a time. Each fill was written into the
// starts bare, so the next one met the bare copy where it had met the earlier window's paint, and
// where two fills met their brightness stepped: the step's detail was a dark and a light line
// across the stroke (a red stroke over pool photo 00005's grass, enlarged to 50 MP: 14 levels in
// the start, 30-40 in the result). Written with its paint carried, every column of the stroke's
// start averages to its paint. The photo: tests/data/sketch/README.md.
TEST(StrokeFill, ASketchedStrokeHasNoLineWhereTwoFillsMeet) {
  const at::Tensor photo = imageio::load_image(CMEDIT_SOURCE_DIR "/tests/data/sketch/sundial-strip.jpg").rgb;
  const int64_t height = photo.size(2), width = photo.size(3), y0 = 190, x0 = 100, across = 61;
  at::Tensor mask = at::zeros({1, 1, height, width});
  mask.narrow(2, y0, across).narrow(3, x0, width - 2 * x0 + 1).fill_(1);
  const at::Tensor paint = (at::tensor({220.0f, 40.0f, 40.0f}) / 127.5 - 1).view({1, 3, 1, 1});
  engine::EditRequest r;
  r.kind = edit::EditKind::Sketch;
  r.image = at::where(mask > 0, paint.expand_as(photo), photo);
  r.mask = mask;
  r.region.grow = 2, r.region.feather = 8;  // the editor's defaults
  r.strength = 0;                           // the start itself
  edit::ExemplarCache cache(64);
  engine::Timings t;
  const at::Tensor start = engine::execute(testing::analytic_model(64), testing::analytic_card(), r, {{}, &cache}, t);
  ASSERT_GE(cache.fills(), 3u) << "the test needs fills that meet";
  // Each column's red over the stroke's middle, in 8-bit levels from the paint's.
  const at::Tensor off = ((start - paint).narrow(1, 0, 1).narrow(2, y0 + 6, across - 12).narrow(3, x0 + 20, width - 2 * x0 - 40).mean({1, 2}) * 127.5).abs().reshape({-1});
  EXPECT_LT(off.max().item<double>(), 8) << "a line across the stroke at column " << x0 + 20 + off.argmax().item<int64_t>();
}
#endif

}  // namespace
}  // namespace cm
