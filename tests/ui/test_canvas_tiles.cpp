// The canvas's picture in tiles (ui/canvas_tiles.h) and the editor redrawing only what changed:
// every pixel lands where it belongs across tile edges, a part sent again is only that part, a
// photo shown small is averaged, and a view built up stroke by stroke and window by window is
// the view built at once.
#include "ui/document.h"
#include "ui/editor_fixture.h"

#include <QElapsedTimer>
#include <QUndoStack>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace {

using namespace cm::ui::testing;

// A picture in which every pixel differs from its neighbours in a way a shifted, seamed or
// mirrored tile shows: red and green run with x and y, blue says which 256-pixel block.
QImage blocks(int w, int h) {
  QImage image(w, h, QImage::Format_RGBA8888);
  for (int y = 0; y < h; ++y) {
    uchar* row = image.scanLine(y);
    for (int x = 0; x < w; ++x) {
      row[4 * x] = uchar(x % 256), row[4 * x + 1] = uchar(y % 256), row[4 * x + 2] = uchar(40 * (x / 256) + 20 * (y / 256));
      row[4 * x + 3] = 255;
    }
  }
  return image;
}

// The largest difference of any channel between the frame (the canvas at actual pixels, filling
// it) and the image.
int largest_difference(const QImage& frame, const QImage& image) {
  const QImage f = frame.convertToFormat(QImage::Format_RGBA8888);
  int worst = 0;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < 4 * image.width(); ++x)
      if (x % 4 != 3) worst = std::max(worst, std::abs(int(f.constScanLine(y)[x]) - int(image.constScanLine(y)[x])));
  return worst;
}

TEST(CanvasTiles, AnImageOfSeveralTilesShowsEveryPixelWhereItBelongs) {
  REQUIRE_GL();
  // 3 × 2 tiles of 1024 px, the last ones narrow; the canvas is the image's size, so that the fit
  // is actual pixels and each pixel of the frame is one texel.
  const QImage image = blocks(2100, 1100);
  cm::ui::Canvas canvas;
  canvas.resize(image.size());
  canvas.setImage(image);
  canvas.show();
  ASSERT_EQ(canvas.imageRect(), QRectF(0, 0, 2100, 1100));
  const QImage frame = canvas.grabFramebuffer();
  ASSERT_EQ(frame.size(), image.size()) << "a display with a device pixel ratio: the frame is not in image pixels";
  EXPECT_LE(largest_difference(frame, image), 1);

  // A part across four tiles: only it is sent (and the pixel of overlap its neighbours hold).
  QImage part(300, 150, QImage::Format_RGBA8888);
  part.fill(QColor(250, 10, 120));
  canvas.setImagePart(part, QPoint(900, 900));
  QImage expected = image;
  for (int y = 900; y < 1050; ++y)
    for (int x = 900; x < 1200; ++x) expected.setPixelColor(x, y, QColor(250, 10, 120));
  EXPECT_EQ(canvas.image(), expected);
  EXPECT_LE(largest_difference(canvas.grabFramebuffer(), expected), 1);
  EXPECT_GE(canvas.lastUploadPixels(), 300 * 150);
  EXPECT_LE(canvas.lastUploadPixels(), 300 * 150 + 2 * (300 + 150) + 4) << "more than the part was sent";
}

TEST(CanvasTiles, AFinePatternShownSmallIsAveragedNotSampled) {
  REQUIRE_GL();
  // One-pixel stripes shown at a seventh of their size: each screen pixel covers seven of them,
  // which the eye sees as grey. Sampling one texel (or two) per screen pixel showed black, white
  // and every shade between.
  QImage image(2048, 2048, QImage::Format_RGBA8888);
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) image.setPixelColor(x, y, x % 2 ? Qt::white : Qt::black);
  cm::ui::Canvas canvas;
  canvas.resize(300, 300);
  canvas.setImage(image);
  canvas.show();
  const QImage frame = canvas.grabFramebuffer().convertToFormat(QImage::Format_RGBA8888);
  ASSERT_EQ(frame.size(), QSize(300, 300));
  int lowest = 255, highest = 0;
  for (int y = 10; y < 290; ++y)
    for (int x = 10; x < 290; ++x) {
      const int v = frame.constScanLine(y)[4 * x];
      lowest = std::min(lowest, v), highest = std::max(highest, v);
    }
  EXPECT_GE(lowest, 110);
  EXPECT_LE(highest, 145);
}

// The canvas as the editor leaves it after each change, against the picture made at once
// (View › Show mask twice: the whole picture composed again).
::testing::AssertionResult same_as_composed_at_once(cm::ui::MainWindow& window) {
  const QImage built_up = window.canvas()->image().copy();
  window.maskAction()->toggle();
  window.maskAction()->toggle();
  const QImage& at_once = window.canvas()->image();
  if (built_up.size() != at_once.size()) return ::testing::AssertionFailure() << "another size";
  for (int y = 0; y < at_once.height(); ++y)
    for (int x = 0; x < at_once.width(); ++x)
      if (built_up.pixel(x, y) != at_once.pixel(x, y))
        return ::testing::AssertionFailure() << "differs at " << x << ", " << y;
  return ::testing::AssertionSuccess();
}

// Nothing on its way: the engine idle, and no preview shown, cleared or refined for a second (the
// refinement follows the draft after 0.4 s).
bool settled(cm::ui::MainWindow& window) {
  const cm::ui::EditController& c = *window.controller();
  QSignalSpy ready(&c, &cm::ui::EditController::previewReady), partial(&c, &cm::ui::EditController::previewPartial),
      cleared(&c, &cm::ui::EditController::previewCleared);
  QElapsedTimer clock, quiet;
  clock.start(), quiet.start();
  qsizetype seen = 0;
  while (clock.elapsed() < 30000) {
    QTest::qWait(100);
    if (const qsizetype now = ready.size() + partial.size() + cleared.size(); now != seen || c.status().busy || c.status().queue_depth > 0) {
      seen = now;
      quiet.restart();
    } else if (quiet.elapsed() >= 1000) {
      return !c.hasPreview() || (c.previewComplete() && c.previewRevision() == window.document()->revision());
    }
  }
  return false;
}

TEST_F(Editor, TheCanvasRedrawsOnlyWhatChangedAndEndsAsIfDrawnAtOnce) {
  openPhoto(1300, 1100, [](int x, int y) { return QColor(x % 200, 60 + y % 150, 120 + (x + y) % 100); });
  cm::ui::Document& doc = *window.document();
  const qint64 whole = qint64(doc.size().width()) * doc.size().height();
  // Colour hints far from where the mask will be: shown fully now, lighter over the preview to come.
  cm::ui::Brush hint;
  hint.diameter = 30;
  hint.color = QColor(20, 200, 40);
  doc.paintStroke(cm::ui::Layer::Hints, {QPointF(100, 900), QPointF(400, 950)}, hint);
  ASSERT_TRUE(settled(window));
  ASSERT_FALSE(window.controller()->hasPreview()) << "hints alone made an inpainting's preview";
  ASSERT_TRUE(same_as_composed_at_once(window));
  window.canvas()->grabFramebuffer();  // the photo sent

  // A stroke: what is sent at once is its rectangle, not the photo.
  paint_stroke(window, QPointF(1000, 1000), QPointF(1150, 1050));
  window.canvas()->grabFramebuffer();
  EXPECT_LT(window.canvas()->lastUploadPixels(), whole / 20);
  ASSERT_TRUE(settled(window));
  ASSERT_TRUE(window.controller()->hasPreview());
  EXPECT_TRUE(same_as_composed_at_once(window)) << "with the first stroke's preview";

  paint_stroke(window, QPointF(100, 150), QPointF(300, 120));  // a second one, far away
  ASSERT_TRUE(settled(window));
  EXPECT_TRUE(same_as_composed_at_once(window)) << "with the second stroke's preview";

  window.undoAction()->trigger();  // the second stroke goes: its preview with it
  ASSERT_TRUE(settled(window));
  EXPECT_TRUE(same_as_composed_at_once(window)) << "after undoing a stroke";

  const QImage shown = window.controller()->preview();
  ASSERT_TRUE(apply_and_wait(window));
  EXPECT_FALSE(window.controller()->hasPreview());
  // Apply reads only where the preview differs from the photo: all of it is committed.
  EXPECT_EQ(doc.photo(), shown.convertToFormat(QImage::Format_RGBA64));
  EXPECT_TRUE(same_as_composed_at_once(window)) << "after Apply";

  window.undoAction()->trigger();  // the photo and the mask as they were
  ASSERT_TRUE(settled(window));
  EXPECT_TRUE(same_as_composed_at_once(window)) << "after undoing Apply";

  window.discardAction()->trigger();
  ASSERT_TRUE(settled(window));
  EXPECT_FALSE(window.controller()->hasPreview());
  EXPECT_TRUE(same_as_composed_at_once(window)) << "after Discard";
}

// A preview shown window by window is painted over the photo in the canvas's format, and its
// whole result over the photo in the document's, each copy kept from one preview to the next
// (PhotoCopy): each starts from the photo as it is now, not with an earlier preview's pixels
// (discarded) nor with the photo as it was before an Apply.
TEST_F(Editor, APreviewsFirstWindowLiesOverThePhotoAsItIsNow) {
  openPhoto(1300, 1100, [](int x, int y) { return QColor(x % 200, 60 + y % 150, 120 + (x + y) % 100); });
  cm::ui::Document& doc = *window.document();
  cm::ui::EditController& c = *window.controller();
  // The preview at the first window of the stroke from a to b.
  const auto first_window = [&](QPointF a, QPointF b) {
    QImage seen;
    const auto connection = QObject::connect(&c, &cm::ui::EditController::previewPartial, &c, [&] {
      if (seen.isNull()) seen = c.preview().copy();
    });
    paint_stroke(window, a, b);
    EXPECT_TRUE(settled(window));
    QObject::disconnect(connection);
    return seen;
  };
  const auto photo_there = [&](const QImage& preview, QRect area) {
    return preview.copy(area) == doc.photo().copy(area).convertToFormat(QImage::Format_RGBA8888);
  };
  const auto whole_preview_over_photo = [&](QRect area) {  // bit for bit, in 16 bits
    return c.previewComplete() && c.preview().format() == QImage::Format_RGBA64 && c.preview().copy(area) == doc.photo().copy(area);
  };
  const QRect near_a(950, 950, 260, 150), near_b(50, 70, 300, 130);
  ASSERT_FALSE(first_window(QPointF(1000, 1000), QPointF(1150, 1050)).isNull());
  ASSERT_TRUE(c.hasPreview());
  ASSERT_FALSE(photo_there(c.preview().convertToFormat(QImage::Format_RGBA8888), near_a)) << "the preview changed nothing";
  EXPECT_TRUE(whole_preview_over_photo(near_b));
  window.discardAction()->trigger();
  ASSERT_TRUE(settled(window));

  const QImage b = first_window(QPointF(100, 150), QPointF(300, 120));
  ASSERT_FALSE(b.isNull());
  EXPECT_TRUE(photo_there(b, near_a)) << "the discarded preview's windows are still there";
  EXPECT_TRUE(whole_preview_over_photo(near_a)) << "the discarded preview is still there";
  const QImage before_apply = doc.photo().copy();
  ASSERT_TRUE(apply_and_wait(window));
  ASSERT_NE(doc.photo().copy(near_b), before_apply.copy(near_b));

  const QImage a_again = first_window(QPointF(1000, 1000), QPointF(1150, 1050));
  ASSERT_FALSE(a_again.isNull());
  EXPECT_TRUE(photo_there(a_again, near_b)) << "the photo as it was before Apply";
  EXPECT_TRUE(whole_preview_over_photo(near_b)) << "the photo as it was before Apply";
  ASSERT_TRUE(apply_and_wait(window));
  window.undoAction()->trigger();  // the photo as it was, and the mask: its preview comes again
  ASSERT_TRUE(settled(window));
  ASSERT_TRUE(c.hasPreview());
  EXPECT_TRUE(whole_preview_over_photo(near_b)) << "the photo as it was before the undo";
}

}  // namespace
