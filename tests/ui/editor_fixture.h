// What the editor's UI tests share: the GL requirement, synthetic photos, a shown main window
// with the test model loaded, and mouse strokes on its canvas.
#pragma once

#include "ui/canvas.h"
#include "ui/edit_controller.h"
#include "ui/main_window.h"

#include <gtest/gtest.h>

#include <QImage>
#include <QOpenGLContext>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QUndoStack>
#include <QAction>

#include <cstdlib>
#include <cstring>
#include <functional>

namespace cm::ui::testing {

inline bool glRequired() {
  const char* v = std::getenv("CMEDIT_REQUIRE_GL");
  return v && std::strcmp(v, "1") == 0;
}

}  // namespace cm::ui::testing

#define REQUIRE_GL()                                                                        \
  do {                                                                                      \
    QOpenGLContext probe;                                                                   \
    if (!probe.create()) {                                                                  \
      if (cm::ui::testing::glRequired()) FAIL() << "no OpenGL context, but CMEDIT_REQUIRE_GL=1"; \
      GTEST_SKIP() << "no OpenGL context (run under xvfb-run)";                             \
    }                                                                                       \
  } while (false)


namespace cm::ui::testing {

// A w×h RGB photo with colour(x, y) at every pixel.
inline QImage synthetic_photo(int w, int h, const std::function<QColor(int, int)>& colour) {
  QImage photo(w, h, QImage::Format_RGB888);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) photo.setPixelColor(x, y, colour(x, y));
  return photo;
}

// The variations panel's "Show N variations" button, or nullptr.
inline QPushButton* show_variations_button(const QWidget& window) {
  for (QPushButton* b : window.findChildren<QPushButton*>())
    if (b->text().startsWith(QStringLiteral("Show"))) return b;
  return nullptr;
}

// A shown main window with the test model loaded (tests/cli/edit_tests.cmake makes it), and a
// helper that writes a synthetic photo and opens it.
class Editor : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_GL();
    const char* model = std::getenv("CMEDIT_TEST_MODEL");
    ASSERT_TRUE(model) << "CMEDIT_TEST_MODEL is not set (CTest sets it)";
    window.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
    QSignalSpy loaded(window.controller(), &cm::ui::EditController::modelLoaded);
    // The window starts loading the built-in model: the test model is loaded after it, and only
    // its own modelLoaded (which asks for a preview) ends the set-up.
    const int loads = !window.controller()->modelPath().isEmpty() && !window.controller()->modelReady() ? 2 : 1;
    window.loadModel(QString::fromUtf8(model));
    ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() >= loads; }, 20000));
  }
  // Writes a w×h photo with colour(x, y) and opens it; returns the pixels as written.
  QImage openPhoto(int w, int h, const std::function<QColor(int, int)>& colour) {
    const QImage photo = synthetic_photo(w, h, colour);
    const QString in = dir.filePath(QStringLiteral("in.png"));
    EXPECT_TRUE(photo.save(in));
    EXPECT_TRUE(window.openImage(in));
    return photo;
  }
  QPushButton* showVariationsButton() { return show_variations_button(window); }
  QTemporaryDir dir;
  cm::ui::MainWindow window;
};

inline int painted_pixels(const QImage& layer) {
  int n = 0;
  for (int y = 0; y < layer.height(); ++y)
    for (int x = 0; x < layer.width(); ++x)
      n += layer.format() == QImage::Format_Grayscale8 ? layer.constScanLine(y)[x] != 0 : qAlpha(layer.pixel(x, y)) != 0;
  return n;
}

// Apply as the user presses it: the refined preview at once, or when it arrives (Apply never
// commits the one-step draft). False when nothing was applied within the time.
inline bool apply_and_wait(cm::ui::MainWindow& window, int timeout_ms = 30000) {
  QSignalSpy applied(window.controller(), &cm::ui::EditController::applied);
  const int before = window.document()->undoStack()->index();
  window.applyAction()->trigger();
  if (window.controller()->applyPending()) return applied.wait(timeout_ms);
  return window.document()->undoStack()->index() != before;
}

// Paints a short mask stroke from image point a to b with the mouse.
inline void paint_stroke(cm::ui::MainWindow& window, QPointF a, QPointF b) {
  cm::ui::Canvas* canvas = window.canvas();
  const QPoint from = canvas->imageToWidget(a).toPoint(), to = canvas->imageToWidget(b).toPoint();
  QTest::mousePress(canvas, Qt::LeftButton, {}, from);
  QTest::mouseMove(canvas, (from + to) / 2);
  QTest::mouseRelease(canvas, Qt::LeftButton, {}, to);
}

// Whether the canvas outlines a painted layer over the preview: some lines, each within the
// layer's ink (whose right and bottom edges lie one pixel past its last pixels).
inline ::testing::AssertionResult outlines(const cm::ui::Canvas& canvas, QRect ink) {
  if (canvas.outline().isEmpty()) return ::testing::AssertionFailure() << "no outline";
  const QRect around = ink.adjusted(0, 0, 1, 1);
  for (const QLineF& line : canvas.outline())
    if (!around.contains(line.p1().toPoint()) || !around.contains(line.p2().toPoint()))
      return ::testing::AssertionFailure() << "a line away from the layer, from (" << line.x1() << ", " << line.y1() << ")";
  return ::testing::AssertionSuccess();
}

}  // namespace cm::ui::testing
