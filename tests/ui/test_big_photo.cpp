// The editor on a photo at a camera's size (issue: real photos at their own pixels): a long stroke
// on a 12-megapixel photo shows its first windows while the rest is still being computed, the
// brush's neighbourhood first, and the preview grows window by window to the whole edit; even
// whole, that one-step draft is not what Apply commits (the refined result is). These tests run
// alone (tests/CMakeLists.txt).
//
// The goal is the first part within a second. It is a timing goal, so it is measured where timings
// belong: these tests print their times, docs/BENCHMARKS.md keeps them ("Real photos at their own
// pixels": 0.45 s here), and bench/preview_latency --mask cable times the engine's share. The tests
// hold what does not depend on the machine's speed of the moment: the first part comes in under
// half the time of the whole (one window for the whole stroke, as before, fails that), and within
// a ceiling far below that single window's 20 s. A CI run right after building two trees ran the
// same binary 4-5× slower (first windows 1.47 s, the whole draft 9.6 s), so a bound of a second
// there failed a behaviour that held.
#include "ui/document.h"
#include "ui/editor_fixture.h"

#include <QElapsedTimer>
#include <QUndoStack>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace {

using namespace cm::ui::testing;

// The first part of an edit on a 12 MP photo on the CPU: the goal is 1 s (timed in
// docs/BENCHMARKS.md); a single window took 20 s.
constexpr qint64 kFirstPartCeilingMs = 5000;

// A 4000×3000 photo of smooth gradients, written a row at a time (setPixelColor would take
// seconds).
QImage twelve_megapixels() {
  QImage photo(4000, 3000, QImage::Format_RGB888);
  for (int y = 0; y < photo.height(); ++y) {
    uchar* row = photo.scanLine(y);
    for (int x = 0; x < photo.width(); ++x) {
      row[3 * x] = uchar(x * 255 / photo.width());
      row[3 * x + 1] = uchar(y * 255 / photo.height());
      row[3 * x + 2] = uchar(128 + 100 * std::sin(0.002 * (x + y)));
    }
  }
  return photo;
}

bool differs_near(const QImage& a, const QImage& b, QPointF at, int radius) {
  for (int y = int(at.y()) - radius; y <= int(at.y()) + radius; ++y)
    for (int x = int(at.x()) - radius; x <= int(at.x()) + radius; ++x)
      if (a.rect().contains(x, y) && a.pixelColor(x, y) != b.pixelColor(x, y)) return true;
  return false;
}

TEST_F(Editor, ALongStrokeOnATwelveMegapixelPhotoShowsTheBrushsWindowsFirst) {
  const QString in = dir.filePath(QStringLiteral("big.png"));
  ASSERT_TRUE(twelve_megapixels().save(in));
  ASSERT_TRUE(window.openImage(in));
  cm::ui::Document& doc = *window.document();
  ASSERT_EQ(doc.size(), QSize(4000, 3000));
  window.controller()->setRefineDelay(60000);  // the draft alone

  // A cable-like stroke across the whole photo; the brush ends at its right end.
  QVector<QPointF> stroke;
  for (int x = 20; x <= 3980; x += 40) stroke.push_back(QPointF(x, 1200 + 300 * std::sin(x / 1300.0)));
  cm::ui::Brush brush;
  brush.diameter = 24;
  window.controller()->setBrushPosition(stroke.back());
  QSignalSpy partial(window.controller(), &cm::ui::EditController::previewPartial);
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  QElapsedTimer clock;
  clock.start();
  doc.paintStroke(cm::ui::Layer::Mask, stroke, brush);  // live preview: a draft follows
  ASSERT_TRUE(partial.wait(20000)) << window.lastError().toStdString();
  const qint64 first_ms = clock.elapsed();
  EXPECT_LE(first_ms, kFirstPartCeilingMs) << "the first windows of the draft took " << first_ms << " ms";
  ASSERT_TRUE(window.controller()->hasPreview());
  EXPECT_FALSE(window.controller()->previewComplete()) << "the whole cable in one go: no window by window";
  EXPECT_FALSE(window.controller()->applyPreview()) << "a preview still arriving cannot be applied";
  // The brush's end is edited first; the far end of the cable is not yet.
  EXPECT_TRUE(differs_near(window.controller()->preview(), doc.photo(), stroke.back(), 12));
  EXPECT_FALSE(differs_near(window.controller()->preview(), doc.photo(), stroke.front(), 12));

  ASSERT_TRUE(window.controller()->previewComplete() || ready.wait(600000)) << "the draft never completed";
  const qint64 whole_ms = clock.elapsed();
  std::printf("the first windows in %lld ms, the whole draft in %lld ms\n", static_cast<long long>(first_ms),
              static_cast<long long>(whole_ms));
  EXPECT_LE(2 * first_ms, whole_ms) << "the first windows (" << first_ms << " ms) are not a small part of the draft ("
                                    << whole_ms << " ms)";
  EXPECT_TRUE(differs_near(window.controller()->preview(), doc.photo(), stroke.front(), 12));
  const int steps = doc.undoStack()->count();
  EXPECT_FALSE(window.controller()->applyPreview()) << "the whole one-step draft is still no result to apply";
  EXPECT_EQ(doc.undoStack()->count(), steps);
}

// Undoing the only stroke while its refinement is still computing (a minute of windows on a large
// photo) drops the preview and stops the work: the editor is idle again at once, not busy with an
// edit of a mask that is gone.
TEST_F(Editor, UndoingTheOnlyStrokeStopsItsRefinementOnATwelveMegapixelPhoto) {
  const QString in = dir.filePath(QStringLiteral("big.png"));
  ASSERT_TRUE(twelve_megapixels().save(in));
  ASSERT_TRUE(window.openImage(in));
  cm::ui::Document& doc = *window.document();
  window.controller()->setRefineDelay(0);  // the refinement follows the whole draft at once
  QVector<QPointF> stroke;
  for (int x = 20; x <= 3980; x += 40) stroke.push_back(QPointF(x, 1500 + 200 * std::sin(x / 900.0)));
  cm::ui::Brush brush;
  brush.diameter = 24;
  QSignalSpy partial(window.controller(), &cm::ui::EditController::previewPartial);
  doc.paintStroke(cm::ui::Layer::Mask, stroke, brush);
  ASSERT_TRUE(partial.wait(20000)) << window.lastError().toStdString();  // the draft's first windows
  ASSERT_TRUE(window.controller()->status().busy) << "no edit running to stop";
  QElapsedTimer clock;
  clock.start();
  doc.undoStack()->undo();
  EXPECT_FALSE(window.controller()->hasPreview()) << "the preview of the undone stroke stays on screen";
  ASSERT_TRUE(QTest::qWaitFor([&] { return !window.controller()->status().busy; }, 60000));
  EXPECT_LE(clock.elapsed(), 1000) << "the undone stroke's edit ran on for " << clock.elapsed() << " ms";
}

// On a large photo a draft takes longer than the refine delay: the refinement follows the whole
// draft instead of superseding it unseen (a dab on a 50 MP photo left the screen unchanged until
// its refinement, 2-3 s after the stroke).
TEST_F(Editor, ALongStrokesDraftIsShownBeforeItsRefinementStarts) {
  const QString in = dir.filePath(QStringLiteral("big.png"));
  ASSERT_TRUE(twelve_megapixels().save(in));
  ASSERT_TRUE(window.openImage(in));
  cm::ui::Document& doc = *window.document();
  window.controller()->setRefineDelay(100);  // far less than the draft takes here
  QVector<QPointF> stroke;
  for (int x = 20; x <= 3980; x += 40) stroke.push_back(QPointF(x, 1200 + 300 * std::sin(x / 1300.0)));
  cm::ui::Brush brush;
  brush.diameter = 24;
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  QElapsedTimer clock;
  clock.start();
  doc.paintStroke(cm::ui::Layer::Mask, stroke, brush);
  ASSERT_TRUE(ready.wait(600000)) << window.lastError().toStdString();
  const qint64 draft_ms = clock.elapsed();
  EXPECT_GT(draft_ms, 100) << "the draft came within the refine delay: nothing to show here";
  EXPECT_EQ(window.controller()->previewSteps(), window.controller()->parameters().preview_steps) << "the refinement came first";
  EXPECT_TRUE(window.controller()->previewComplete());
  QSignalSpy partial(window.controller(), &cm::ui::EditController::previewPartial);
  ASSERT_TRUE(partial.wait(60000)) << "no refinement followed the draft";
  EXPECT_EQ(window.controller()->previewSteps(), window.controller()->parameters().refine_steps);
  EXPECT_TRUE(differs_near(window.controller()->preview(), doc.photo(), stroke.front(), 12)) << "the draft shows until the refinement's windows replace it";
  std::printf("the whole draft in %lld ms, the refinement's first windows %lld ms later\n", static_cast<long long>(draft_ms),
              static_cast<long long>(clock.elapsed() - draft_ms));
  window.controller()->cancelJobs();
}

// Colorizing a 12-megapixel grey photo with a hint: the first strips show while the rest are
// computed, with the status bar's progress, and only the whole result applies.
TEST_F(Editor, ColorizingATwelveMegapixelGreyPhotoShowsItsFirstStripsFirst) {
  QImage grey = twelve_megapixels().convertToFormat(QImage::Format_Grayscale8).convertToFormat(QImage::Format_RGB888);
  const QString in = dir.filePath(QStringLiteral("grey.png"));
  ASSERT_TRUE(grey.save(in));
  ASSERT_TRUE(window.openImage(in));
  ASSERT_EQ(window.controller()->parameters().kind, cm::edit::EditKind::Colorize);  // a grey photo opens with Colorize
  cm::ui::Document& doc = *window.document();
  window.controller()->setRefineDelay(60000);
  // The photo colorized as it is comes first (a grey photo may be applied without hints).
  ASSERT_TRUE(QTest::qWaitFor([&] { return window.controller()->previewComplete() && !window.controller()->status().busy; }, 120000));
  cm::ui::Brush hint;
  hint.diameter = 30;
  hint.color = QColor(30, 160, 60);
  QSignalSpy partial(window.controller(), &cm::ui::EditController::previewPartial);
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  QSignalSpy progress(window.controller(), &cm::ui::EditController::progress);
  QElapsedTimer clock;
  clock.start();
  doc.paintStroke(cm::ui::Layer::Hints, {QPointF(1000, 800), QPointF(1400, 900)}, hint);
  ASSERT_TRUE(partial.wait(20000)) << window.lastError().toStdString();
  const qint64 first_ms = clock.elapsed();
  EXPECT_LE(first_ms, kFirstPartCeilingMs) << "the first strips took " << first_ms << " ms";
  EXPECT_FALSE(window.controller()->previewComplete());
  ASSERT_TRUE(window.controller()->previewComplete() || ready.wait(120000));
  std::printf("the first strips in %lld ms, the whole in %lld ms\n", static_cast<long long>(first_ms),
              static_cast<long long>(clock.elapsed()));
  // Under two thirds of the whole: before the first strip the hints are spread over the whole
  // photo (1.3-1.4 s here), and the whole result now comes 1.6 s after it (it became an image in
  // 0.7 s before ui/tensor_image's one pass, 4.3 s in all), so half was no longer a fair bound.
  EXPECT_LE(3 * first_ms, 2 * clock.elapsed()) << "the first strips (" << first_ms << " ms) are not a small part of the whole ("
                                               << clock.elapsed() << " ms)";
  EXPECT_GT(progress.count(), 5) << "one progress step per strip of rows";
  const QColor hinted = window.controller()->preview().pixelColor(1200, 850);
  EXPECT_GT(hinted.green(), hinted.red() + 20) << "the hint's green";
}

// The 12 MP photo opened, with no refinement to come and the opening's own work done: a tiled
// edit then runs alone.
bool open_idle(cm::ui::MainWindow& window, const QTemporaryDir& dir) {
  const QString in = dir.filePath(QStringLiteral("big.png"));
  if (!twelve_megapixels().save(in) || !window.openImage(in)) return false;
  window.controller()->setRefineDelay(60000);
  return QTest::qWaitFor([&] { return !window.controller()->status().busy; }, 60000);
}

// Super-resolving a 1000×1000 selection ×2 is thousands of tiles on a CPU: its enlarged start shows
// at once, tiles follow with progress, and Cancel stops it and leaves nothing to apply.
TEST_F(Editor, SuperResolvingAThousandPixelSelectionShowsItsStartAtOnceAndCancels) {
  ASSERT_TRUE(open_idle(window, dir)) << window.lastError().toStdString();
  cm::ui::EditParameters p = window.controller()->parameters();
  p.kind = cm::edit::EditKind::SuperResolve;
  p.settings[QStringLiteral("scale")] = 2;
  p.selection = QRect(1500, 1000, 1000, 1000);
  window.controller()->setParameters(p);
  QSignalSpy partial(window.controller(), &cm::ui::EditController::previewPartial);
  QSignalSpy progress(window.controller(), &cm::ui::EditController::progress);
  QElapsedTimer clock;
  clock.start();
  window.controller()->requestPreview();
  ASSERT_TRUE(partial.wait(20000)) << window.lastError().toStdString();
  EXPECT_LE(clock.elapsed(), kFirstPartCeilingMs) << "the enlarged start took " << clock.elapsed() << " ms";
  EXPECT_EQ(window.controller()->preview().size(), QSize(2000, 2000));
  EXPECT_FALSE(window.controller()->previewComplete());
  ASSERT_TRUE(progress.wait(20000)) << "no progress from the tiles";
  QSignalSpy idle(window.controller(), &cm::ui::EditController::busyChanged);
  window.controller()->cancelJobs();
  ASSERT_TRUE(QTest::qWaitFor([&] { return !window.controller()->status().busy; }, 20000));
  EXPECT_FALSE(window.controller()->applyPreview()) << "a cancelled enlargement is not applied";
}

// Denoising a 12 MP photo is thousands of tiles on a CPU (minutes): its tiles show as they come,
// from where the user looks, not from the photo's top-left corner.
TEST_F(Editor, DenoisingATwelveMegapixelPhotoShowsTheTilesWhereTheUserLooksFirst) {
  ASSERT_TRUE(open_idle(window, dir)) << window.lastError().toStdString();
  cm::ui::Canvas* canvas = window.canvas();
  canvas->setZoom(1.0, canvas->imageToWidget(QPointF(3000, 2200)));
  const QPointF looked_at = canvas->widgetToImage(QPointF(canvas->width() / 2.0, canvas->height() / 2.0));
  ASSERT_GT(looked_at.x(), 2000);
  cm::ui::EditParameters p = window.controller()->parameters();
  p.kind = cm::edit::EditKind::Denoise;
  p.settings[QStringLiteral("sigma")] = 20;
  window.controller()->setParameters(p);
  QSignalSpy partial(window.controller(), &cm::ui::EditController::previewPartial);
  QElapsedTimer clock;
  clock.start();
  window.controller()->requestPreview();
  ASSERT_TRUE(partial.wait(30000)) << "no tile showed before the whole denoise; " << window.lastError().toStdString();
  std::printf("the first tiles where the user looks in %lld ms\n", static_cast<long long>(clock.elapsed()));
  EXPECT_FALSE(window.controller()->previewComplete());
  const QImage shown = window.controller()->preview().convertToFormat(QImage::Format_RGB888);
  const QImage photo = window.document()->photo().convertToFormat(QImage::Format_RGB888);
  ASSERT_EQ(shown.size(), photo.size());
  // Where the first parts changed the photo, sampled every 8 pixels.
  double sum_x = 0, sum_y = 0, nearest_origin = 1e9;
  int changed = 0;
  for (int y = 0; y < photo.height(); y += 8)
    for (int x = 0; x < photo.width(); x += 8)
      if (std::memcmp(shown.constScanLine(y) + 3 * x, photo.constScanLine(y) + 3 * x, 3) != 0) {
        ++changed, sum_x += x, sum_y += y;
        nearest_origin = std::min(nearest_origin, std::hypot(double(x), double(y)));
      }
  window.controller()->cancelJobs();
  ASSERT_GT(changed, 0) << "the parts shown left the photo as it was";
  EXPECT_LT(std::hypot(sum_x / changed - looked_at.x(), sum_y / changed - looked_at.y()), 300)
      << "the first tiles are not where the user looks";
  EXPECT_GT(nearest_origin, 1000) << "the first tiles include the photo's corner";
}

}  // namespace
