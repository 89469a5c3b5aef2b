// The editor's second pass as a new user (issue 33), the edits' side: what Apply commits, what the
// canvas shows over a preview and after Apply, a sketch's region, colour hints, and the progress
// and latency the status bar reports. Each test drives the real window and fails without its fix.
#include "ui/document.h"
#include "ui/editor_fixture.h"

#include <QAction>
#include <QStatusBar>
#include <QUndoStack>

namespace {

using namespace cm::ui::testing;

QString last_history(cm::ui::MainWindow& window) {
  const QUndoStack* stack = window.document()->undoStack();
  return stack->index() > 0 ? stack->text(stack->index() - 1) : QString();
}

// Finding 1: choosing the Sketch brush previews nothing, and Apply has nothing to apply, until a
// stroke is painted (as Colorize waits for a hint on a colour photo).
TEST_F(Editor, ASketchWithoutStrokesDoesNothing) {
  const QImage photo = openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 90); });
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  QSignalSpy partial(window.controller(), &cm::ui::EditController::previewPartial);
  window.setTool(cm::ui::Tool::SketchBrush);
  window.controller()->requestPreview(true);
  QTest::qWait(1500);
  EXPECT_EQ(ready.count() + partial.count(), 0) << "a sketch without strokes previewed the photo redrawn";
  EXPECT_FALSE(window.controller()->hasPreview());
  window.applyAction()->trigger();
  EXPECT_EQ(window.statusBar()->currentMessage(), QStringLiteral("Nothing to apply yet"));
  EXPECT_EQ(window.document()->photo(), photo.convertToFormat(QImage::Format_RGBA64));
  EXPECT_EQ(window.document()->undoStack()->count(), 0);
}

// Finding 1: a sketch redraws the strokes' neighbourhood only (every pixel beyond it is the
// photo's own), and Apply after the one-step draft commits the refined result (Steps), not the
// draft: it asks for the refinement at once and applies it when it arrives.
TEST_F(Editor, ASketchEditsOnlyAroundItsStrokesAndApplyWaitsForTheRefinedResult) {
  const QImage photo = openPhoto(128, 96, [](int x, int y) { return QColor(2 * x, 2 * y, (x * y) % 256); });
  window.setTool(cm::ui::Tool::SketchBrush);
  window.controller()->setRefineDelay(60000);  // the refinement comes only when Apply asks for it
  window.setBrushDiameter(6);
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  QSignalSpy applied(window.controller(), &cm::ui::EditController::applied);
  paint_stroke(window, QPointF(30, 30), QPointF(50, 36));
  ASSERT_TRUE(ready.wait(20000)) << window.lastError().toStdString();
  ASSERT_EQ(window.controller()->previewSteps(), 1);  // the draft
  const int steps = window.controller()->parameters().refine_steps;
  ASSERT_GT(steps, 1);

  window.applyAction()->trigger();
  EXPECT_TRUE(window.controller()->applyPending()) << "the draft was applied";
  EXPECT_TRUE(window.statusBar()->currentMessage().startsWith(QStringLiteral("Applying when")))
      << window.statusBar()->currentMessage().toStdString();
  ASSERT_TRUE(applied.wait(30000)) << window.lastError().toStdString();
  EXPECT_TRUE(last_history(window).contains(QStringLiteral("%1 steps").arg(steps))) << last_history(window).toStdString();
  EXPECT_TRUE(window.statusBar()->currentMessage().startsWith(QStringLiteral("Applied"))) << window.statusBar()->currentMessage().toStdString();

  // Beyond the stroke (radius 3), its reach (8), Grow (2) and Feather (2·8): the photo's own pixels.
  const QImage result = window.document()->photo();
  int kept = 0, changed_near = 0;
  for (int y = 0; y < 96; ++y)
    for (int x = 0; x < 128; ++x) {
      const bool near = x >= 30 - 30 && x <= 50 + 30 && y >= 30 - 30 && y <= 36 + 30;
      const bool same = result.pixelColor(x, y).rgba64() == photo.pixelColor(x, y).rgba64();
      if (!near) {
        ASSERT_TRUE(same) << "a pixel far from the strokes changed: " << x << "," << y;
        ++kept;
      } else {
        changed_near += !same;
      }
    }
  EXPECT_GT(kept, 4000);
  EXPECT_GT(changed_near, 50) << "the strokes were not redrawn";
}

// Finding 1, the decision's other half: an Apply waiting for the refinement is dropped when the
// edit changes under it (another stroke), so what is applied is always what the user last saw asked.
TEST_F(Editor, AWaitingApplyIsDroppedWhenTheEditChanges) {
  openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 90); });
  window.controller()->setRefineDelay(60000);
  window.setBrushDiameter(6);
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  QSignalSpy applied(window.controller(), &cm::ui::EditController::applied);
  paint_stroke(window, QPointF(20, 20), QPointF(26, 24));
  ASSERT_TRUE(ready.wait(20000));
  window.applyAction()->trigger();
  ASSERT_TRUE(window.controller()->applyPending());
  paint_stroke(window, QPointF(40, 10), QPointF(44, 14));
  EXPECT_FALSE(window.controller()->applyPending());
  QTest::qWait(1500);
  EXPECT_EQ(applied.count(), 0);
  EXPECT_FALSE(last_history(window).startsWith(QStringLiteral("Apply"))) << last_history(window).toStdString();
}

// Finding 2: after Apply the canvas shows what was applied, and no new preview (of an edit of the
// applied photo) replaces it.
TEST_F(Editor, AfterApplyTheCanvasShowsWhatWasApplied) {
  openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, (x * y) % 256); });
  window.setTool(cm::ui::Tool::SketchBrush);
  window.setBrushDiameter(6);
  QSignalSpy applied(window.controller(), &cm::ui::EditController::applied);
  paint_stroke(window, QPointF(20, 20), QPointF(30, 26));
  window.applyAction()->trigger();
  ASSERT_TRUE(window.controller()->applyPending());
  ASSERT_TRUE(applied.wait(30000)) << window.lastError().toStdString();
  const QImage shown = window.document()->photo().convertToFormat(QImage::Format_RGBA8888);
  EXPECT_EQ(window.canvas()->image(), shown);
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  QSignalSpy partial(window.controller(), &cm::ui::EditController::previewPartial);
  QTest::qWait(1500);
  EXPECT_EQ(ready.count() + partial.count(), 0) << "a new preview followed the Apply";
  EXPECT_FALSE(window.controller()->hasPreview());
  EXPECT_EQ(window.canvas()->image(), shown);
}

}  // namespace
