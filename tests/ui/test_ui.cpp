// UI tests: real widgets, real OpenGL frames. They need a GL context, which exists under X
// (scripts/test runs everything under xvfb-run). Without one they skip, unless
// CMEDIT_REQUIRE_GL=1 asks for a failure instead.
#include "cmedit/build_config.h"
#include "ui/canvas.h"
#include "core/edit/edit_kind.h"
#include "core/engine/edit_registry.h"
#include "core/imageio/image_file.h"
#include "ui/document.h"
#include "ui/edit_controller.h"
#include "ui/edit_toolbar.h"
#include "ui/main_window.h"
#include "ui/editor_fixture.h"

#include <gtest/gtest.h>

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QComboBox>
#include <QLabel>
#include <QMessageBox>
#include <QPainter>
#include <QOpenGLContext>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <QToolBar>
#include <QToolButton>
#include <QUndoStack>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

#include <unistd.h>

namespace {

// Whether two images of one size and format are the same outside `area`.
bool same_outside(const QImage& a, const QImage& b, QRect area) {
  QImage x = a.copy(), y = b.copy();
  QPainter px(&x), py(&y);
  px.setCompositionMode(QPainter::CompositionMode_Source), py.setCompositionMode(QPainter::CompositionMode_Source);
  px.fillRect(area, Qt::black), py.fillRect(area, Qt::black);
  px.end(), py.end();
  return x == y;
}

using namespace cm::ui::testing;

const QString kSamplePhoto = QStringLiteral(CMEDIT_SOURCE_DIR "/resources/samples/dandelion.jpg");

QImage solid(int w, int h, QColor color) {
  QImage image(w, h, QImage::Format_RGBA8888);
  image.fill(color);
  return image;
}

bool near(QColor a, QColor b, int tolerance = 3) {
  return std::abs(a.red() - b.red()) <= tolerance && std::abs(a.green() - b.green()) <= tolerance &&
         std::abs(a.blue() - b.blue()) <= tolerance;
}

TEST(Canvas, ShowsTheImageFittedAndCentred) {
  REQUIRE_GL();
  cm::ui::Canvas canvas;
  canvas.resize(400, 300);
  canvas.setImage(solid(200, 100, QColor(220, 30, 40)));  // 2:1 → 400×200, bands above and below
  canvas.show();
  EXPECT_EQ(canvas.imageRect(), QRectF(0, 50, 400, 200));
  const QImage frame = canvas.grabFramebuffer();
  ASSERT_FALSE(frame.isNull());
  const double dpr = frame.devicePixelRatio();
  auto at = [&](int x, int y) { return frame.pixelColor(int(x * dpr), int(y * dpr)); };
  EXPECT_TRUE(near(at(200, 150), QColor(220, 30, 40))) << at(200, 150).name().toStdString();
  EXPECT_TRUE(near(at(5, 60), QColor(220, 30, 40)));
  EXPECT_FALSE(near(at(200, 20), QColor(220, 30, 40)));  // band above the image
  EXPECT_EQ(at(200, 20), at(200, 285));                  // same background in both bands
}

TEST(Canvas, F12TogglesTheDebugOverlay) {
  REQUIRE_GL();
  cm::ui::Canvas canvas;
  canvas.resize(400, 300);
  canvas.setImage(solid(40, 30, QColor(0, 0, 0)));
  canvas.show();
  const QImage plain = canvas.grabFramebuffer();

  QTest::keyClick(&canvas, Qt::Key_F12);
  ASSERT_TRUE(canvas.overlayVisible());
  const QImage with_overlay = canvas.grabFramebuffer();
  // The overlay window sits in the top-left corner, over the black photo.
  int changed = 0;
  for (int y = 0; y < 60; ++y)
    for (int x = 0; x < 150; ++x) changed += with_overlay.pixel(x, y) != plain.pixel(x, y);
  EXPECT_GT(changed, 1000) << "the overlay did not draw";

  QTest::keyClick(&canvas, Qt::Key_F12);
  EXPECT_FALSE(canvas.overlayVisible());
  EXPECT_EQ(canvas.grabFramebuffer(), plain);
}

TEST(MainWindow, OpensTheSamplePhoto) {
  REQUIRE_GL();
  cm::ui::MainWindow window;
  ASSERT_TRUE(window.openImage(kSamplePhoto)) << window.lastError().toStdString();
  EXPECT_EQ(window.canvas()->image().size(), QSize(512, 512));
  EXPECT_TRUE(window.windowTitle().startsWith(QStringLiteral("dandelion.jpg")));
  window.show();
  const QImage shot = window.grab().toImage();
  EXPECT_GT(shot.width(), 0);
}

TEST(MainWindow, BadFilesAreReportedAndTheCurrentPhotoKept) {
  REQUIRE_GL();
  cm::ui::MainWindow window;
  ASSERT_TRUE(window.openImage(kSamplePhoto));
  QTemporaryDir dir;
  const QString corrupt = dir.filePath(QStringLiteral("broken.png"));
  {
    QFile f(corrupt);
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    f.write("\x89PNG\r\n\x1a\n truncated");
  }
  EXPECT_FALSE(window.openImage(corrupt));
  EXPECT_TRUE(window.lastError().contains(QStringLiteral("broken.png"))) << window.lastError().toStdString();
  EXPECT_FALSE(window.openImage(dir.filePath(QStringLiteral("missing.jpg"))));
  EXPECT_TRUE(window.lastError().contains(QStringLiteral("no such file")));
  EXPECT_EQ(window.currentPath(), kSamplePhoto);
  EXPECT_EQ(window.canvas()->image().size(), QSize(512, 512));
}

TEST(MainWindow, OverlayActionAndCanvasStayInStep) {
  REQUIRE_GL();
  cm::ui::MainWindow window;
  EXPECT_EQ(window.overlayAction()->shortcut(), QKeySequence(Qt::Key_F12));
  window.overlayAction()->trigger();
  EXPECT_TRUE(window.canvas()->overlayVisible());
  window.canvas()->setOverlayVisible(false);
  EXPECT_FALSE(window.overlayAction()->isChecked());
}

TEST(MainWindow, ListsEveryComponentVersion) {
  const QStringList lines = cm::ui::buildComponentLines();
  for (const char* name : {"cmedit", "LibTorch", "OpenCV", "Qt", "spdlog", "Dear ImGui"})
    EXPECT_TRUE(lines.filter(QRegularExpression(QStringLiteral("^%1 ").arg(QLatin1String(name)))).size() == 1)
        << name << " missing from:\n" << lines.join('\n').toStdString();
}

// View › Show mask, sketch and hints off persists from photo to photo; painting any of them then
// shows them again (a user would otherwise paint blind); a selection leaves the choice alone.
TEST_F(Editor, PaintingAHiddenMaskShowsItAgain) {
  openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 90); });
  window.setBrushDiameter(6);
  cm::ui::Canvas* canvas = window.canvas();
  const auto stroke = [&](QPointF from, QPointF to) {
    const QPoint a = canvas->imageToWidget(from).toPoint(), b = canvas->imageToWidget(to).toPoint();
    QTest::mousePress(canvas, Qt::LeftButton, {}, a);
    QTest::mouseMove(canvas, (a + b) / 2);
    QTest::mouseRelease(canvas, Qt::LeftButton, {}, b);
  };
  window.maskAction()->setChecked(false);
  window.setTool(cm::ui::Tool::Select);
  stroke({10, 10}, {20, 14});
  EXPECT_FALSE(window.maskAction()->isChecked()) << "a selection showed the hidden mask";
  window.setTool(cm::ui::Tool::SketchBrush);
  stroke({10, 30}, {20, 34});
  EXPECT_TRUE(window.maskAction()->isChecked()) << "the sketch stayed hidden while it was painted";
  window.maskAction()->setChecked(false);
  window.setTool(cm::ui::Tool::MaskBrush);
  stroke({30, 20}, {36, 24});
  EXPECT_TRUE(window.maskAction()->isChecked()) << "the mask stayed hidden while it was painted";
  EXPECT_NE(window.statusBar()->currentMessage().indexOf(QStringLiteral("shown again while you paint")), -1)
      << window.statusBar()->currentMessage().toStdString();
}

// The whole loop a user goes through: open, paint a mask with the mouse, wait for the live
// preview, apply, export, re-open the file; then undo.
TEST_F(Editor, PaintPreviewApplyExportAndUndo) {
  const QImage photo = openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, (x * y) % 256); });
  const QString out = dir.filePath(QStringLiteral("out.png"));
  const QImage original = window.document()->photo().copy();
  window.setBrushDiameter(6);

  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  cm::ui::Canvas* canvas = window.canvas();
  const QPoint a = canvas->imageToWidget(QPointF(30, 20)).toPoint(), b = canvas->imageToWidget(QPointF(36, 24)).toPoint();
  QTest::mousePress(canvas, Qt::LeftButton, {}, a);
  QTest::mouseMove(canvas, (a + b) / 2);
  QTest::mouseRelease(canvas, Qt::LeftButton, {}, b);
  ASSERT_GT(window.document()->undoStack()->count(), 0) << "the stroke did not reach the document";
  ASSERT_TRUE(ready.wait(20000)) << window.lastError().toStdString();

  // Holding backslash shows the photo without the preview (before/after).
  QTest::keyPress(canvas, Qt::Key_Backslash);
  EXPECT_EQ(canvas->image(), original.convertToFormat(QImage::Format_RGBA8888));
  QTest::keyRelease(canvas, Qt::Key_Backslash);
  EXPECT_NE(canvas->image(), original.convertToFormat(QImage::Format_RGBA8888));

  ASSERT_TRUE(apply_and_wait(window)) << window.lastError().toStdString();
  EXPECT_NE(window.document()->photo(), original);
  ASSERT_TRUE(window.exportTo(out)) << window.lastError().toStdString();
  const std::string description = cm::imageio::read_description(out.toStdString());
  EXPECT_NE(description.find("Apply inpaint (seed 0, one step a window, strength auto)"), std::string::npos) << description;
  const QImage written(out);
  ASSERT_EQ(written.size(), photo.size());
  // Beyond the stroke, its brush, grow and feather (default 2 + 2·8), every pixel is the input's.
  int checked = 0;
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 64; ++x) {
      if (x >= 30 - 3 - 18 - 1 && x <= 36 + 3 + 18 + 1 && y >= 20 - 3 - 18 - 1 && y <= 24 + 3 + 18 + 1) continue;
      ASSERT_EQ(written.pixel(x, y), photo.pixel(x, y)) << x << "," << y;
      ++checked;
    }
  EXPECT_GT(checked, 200);

  window.undoAction()->trigger();
  EXPECT_EQ(window.document()->photo(), original);
  // Ctrl+click is the eyedropper.
  QTest::mouseClick(canvas, Qt::LeftButton, Qt::ControlModifier, canvas->imageToWidget(QPointF(10.5, 7.5)).toPoint());
  EXPECT_EQ(window.foreground().rgb(), photo.pixelColor(10, 7).rgb());
  EXPECT_FALSE(window.openImage(dir.filePath(QStringLiteral("missing.png"))));
  EXPECT_TRUE(window.lastError().contains(QStringLiteral("missing.png")));
  EXPECT_EQ(window.document()->photo(), original);  // a failed open loses nothing
}

// Pixels of a layer that hold something (mask: non-zero; sketch, hints: non-transparent).
// While the button is down, a one-step preview of the stroke so far follows the brush; the
// stroke becomes an undo step only on release.
TEST_F(Editor, APreviewFollowsTheBrushWhileItIsDown) {
  openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 60); });
  window.setBrushDiameter(6);
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  cm::ui::Canvas* canvas = window.canvas();
  const QPoint a = canvas->imageToWidget(QPointF(20, 20)).toPoint(), b = canvas->imageToWidget(QPointF(30, 26)).toPoint();
  const int steps = window.document()->undoStack()->count();
  QTest::mousePress(canvas, Qt::LeftButton, {}, a);
  QTest::mouseMove(canvas, (a + b) / 2);
  QTest::mouseMove(canvas, b);
  ASSERT_TRUE(ready.wait(20000)) << "no preview while the button was down: " << window.lastError().toStdString();
  EXPECT_TRUE(window.controller()->hasPreview());
  EXPECT_EQ(window.document()->undoStack()->count(), steps);  // nothing committed yet
  EXPECT_EQ(painted_pixels(window.document()->mask()), 0);
  QTest::mouseRelease(canvas, Qt::LeftButton, {}, b);
  EXPECT_EQ(window.document()->undoStack()->count(), steps + 1);
  EXPECT_GT(painted_pixels(window.document()->mask()), 0);
  ASSERT_TRUE(ready.wait(20000)) << "no preview of the committed stroke";
}

// File › Open, recent files and drops ask before unexported work is replaced, as Quit does; the
// title marks unexported changes.
TEST_F(Editor, OpeningAnotherPhotoAsksBeforeDroppingUnexportedWork) {
  openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 90); });
  const QString first = window.currentPath();
  const QString second = dir.filePath(QStringLiteral("second.png"));
  ASSERT_TRUE(synthetic_photo(40, 30, [](int x, int y) { return QColor(200, 3 * x, 4 * y); }).save(second));
  EXPECT_FALSE(window.isWindowModified());
  EXPECT_TRUE(window.windowTitle().contains(QStringLiteral("[*]")));  // Qt draws it as * when modified

  window.setBrushDiameter(6);
  paint_stroke(window, QPointF(30, 20), QPointF(36, 24));
  ASSERT_TRUE(apply_and_wait(window)) << window.lastError().toStdString();  // the photo changed: work to export
  EXPECT_TRUE(window.isWindowModified());

  int asked = 0;
  QMessageBox::StandardButton answer = QMessageBox::Cancel;
  window.setUnsavedChangesPrompt([&](const QString& question) {
    ++asked;
    EXPECT_TRUE(question.contains(QStringLiteral("in.png"))) << question.toStdString();
    return answer;
  });
  const QImage edited = window.document()->photo().copy();
  EXPECT_FALSE(window.requestOpen(second));  // Cancel keeps everything
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(window.currentPath(), first);
  EXPECT_EQ(window.document()->photo(), edited);
  EXPECT_FALSE(window.close());  // Quit asks the same question
  EXPECT_EQ(asked, 2);
  EXPECT_TRUE(window.isVisible());

  answer = QMessageBox::Discard;
  EXPECT_TRUE(window.requestOpen(second));
  EXPECT_EQ(asked, 3);
  EXPECT_EQ(window.currentPath(), second);
  EXPECT_FALSE(window.isWindowModified());
  EXPECT_TRUE(window.requestOpen(first));  // nothing unexported: no question
  EXPECT_EQ(asked, 3);
}

// A preview belongs to the document state and the tool that made it: undo, redo, a tool change
// and a new photo clear it at once, instead of leaving an undone patch on screen.
TEST_F(Editor, UndoToolChangesAndNewPhotosClearAStalePreviewAtOnce) {
  const QImage photo = openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, (x * y) % 256); });
  window.setBrushDiameter(6);
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  paint_stroke(window, QPointF(30, 20), QPointF(36, 24));
  ASSERT_TRUE(ready.wait(20000)) << window.lastError().toStdString();
  ASSERT_TRUE(window.controller()->hasPreview());

  window.undoAction()->trigger();  // the stroke goes, and its preview with it
  EXPECT_FALSE(window.controller()->hasPreview());
  EXPECT_EQ(window.canvas()->image(), photo.convertToFormat(QImage::Format_RGBA8888));
  window.redoAction()->trigger();  // the stroke is back; its old preview is not
  EXPECT_FALSE(window.controller()->hasPreview());
  ASSERT_TRUE(ready.wait(20000)) << "the live preview did not follow the redo";
  EXPECT_TRUE(window.controller()->hasPreview());

  window.setTool(cm::ui::Tool::HintBrush);
  EXPECT_FALSE(window.controller()->hasPreview());

  window.setTool(cm::ui::Tool::MaskBrush);
  paint_stroke(window, QPointF(10, 10), QPointF(14, 12));
  ASSERT_TRUE(ready.wait(20000));
  window.setUnsavedChangesPrompt([](const QString&) { return QMessageBox::Discard; });
  const QString other = dir.filePath(QStringLiteral("other.png"));
  ASSERT_TRUE(synthetic_photo(64, 48, [](int, int) { return QColor(10, 200, 30); }).save(other));
  ASSERT_TRUE(window.requestOpen(other));
  EXPECT_FALSE(window.controller()->hasPreview());
}


// The mask stays visible over a preview as an outline, the preview's own colours untouched (a
// tint, however faint, made a green fill look brown), with a toggle; Esc drops the preview and the
// mask together, as one undo step, so the next stroke does not inpaint the "discarded" area again.
TEST_F(Editor, EscDiscardsThePreviewAndItsMaskAsOneUndoableStep) {
  const QImage photo = openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 120); });
  window.setBrushDiameter(6);
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  paint_stroke(window, QPointF(30, 20), QPointF(36, 24));
  ASSERT_TRUE(ready.wait(20000)) << window.lastError().toStdString();
  ASSERT_GT(painted_pixels(window.document()->mask()), 0);

  const QImage preview = window.controller()->preview().convertToFormat(QImage::Format_RGBA8888);
  ASSERT_TRUE(window.maskAction()->isChecked());
  EXPECT_EQ(window.canvas()->image(), preview);
  EXPECT_TRUE(outlines(*window.canvas(), window.document()->inkRect(cm::ui::Layer::Mask))) << "the mask over the preview";
  window.maskAction()->setChecked(false);
  EXPECT_TRUE(window.canvas()->outline().isEmpty());
  window.maskAction()->setChecked(true);
  EXPECT_FALSE(window.canvas()->outline().isEmpty());

  const int steps = window.document()->undoStack()->count();
  window.discardAction()->trigger();
  EXPECT_FALSE(window.controller()->hasPreview());
  EXPECT_EQ(painted_pixels(window.document()->mask()), 0);
  EXPECT_EQ(window.document()->undoStack()->count(), steps + 1);
  EXPECT_EQ(window.canvas()->image(), photo.convertToFormat(QImage::Format_RGBA8888));
  EXPECT_TRUE(window.canvas()->outline().isEmpty());
  window.undoAction()->trigger();
  EXPECT_GT(painted_pixels(window.document()->mask()), 0);
  if (!window.controller()->hasPreview()) {  // the mask back, its preview not yet: tinted
    EXPECT_NE(window.canvas()->image(), photo.convertToFormat(QImage::Format_RGBA8888));
  }
}

// Apply uses up a colorization's hints as it uses up an inpainting's mask: the hints do not stay
// on the canvas asking for another preview.
TEST_F(Editor, ApplyingAColorizationUsesUpItsHints) {
  const QImage photo = openPhoto(64, 48, [](int x, int y) { return QColor(2 * x + y, 2 * x + y, 2 * x + y); });
  window.setTool(cm::ui::Tool::HintBrush);
  window.setBrushDiameter(6);
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  paint_stroke(window, QPointF(20, 20), QPointF(26, 22));
  ASSERT_GT(painted_pixels(window.document()->layer(cm::ui::Layer::Hints)), 0);
  ASSERT_TRUE(ready.wait(20000)) << window.lastError().toStdString();
  ASSERT_TRUE(apply_and_wait(window)) << window.lastError().toStdString();
  EXPECT_EQ(painted_pixels(window.document()->layer(cm::ui::Layer::Hints)), 0);
  EXPECT_NE(window.document()->photo(), photo.convertToFormat(QImage::Format_RGBA64));
  window.undoAction()->trigger();  // one step brings back the photo and its hints
  EXPECT_GT(painted_pixels(window.document()->layer(cm::ui::Layer::Hints)), 0);
  EXPECT_EQ(window.document()->photo(), photo.convertToFormat(QImage::Format_RGBA64));
}

// Work that lasts shows its step or tile count and, after half a second, a Cancel that stops it.
TEST_F(Editor, LongWorkShowsProgressAndACancel) {
  openPhoto(48, 40, [](int x, int y) { return QColor(5 * x, 6 * y, 90); });
  cm::ui::EditController* controller = window.controller();
  EXPECT_FALSE(window.cancelButton()->isVisible());
  Q_EMIT controller->busyChanged(true);
  Q_EMIT controller->progress(2, 6);
  bool counted = false;
  for (QLabel* label : window.statusBar()->findChildren<QLabel*>()) counted |= label->text().contains(QStringLiteral("2/6"));
  EXPECT_TRUE(counted);
  EXPECT_FALSE(window.cancelButton()->isVisible());  // not for work that is over at once
  ASSERT_TRUE(QTest::qWaitFor([&] { return window.cancelButton()->isVisible(); }, 2000));
  Q_EMIT controller->busyChanged(false);
  EXPECT_FALSE(window.cancelButton()->isVisible());
}

// One Strength control follows the current edit: each edit starts at "auto" (the engine's
// measured default, which for inpaint depends on the hole), steps out of auto from that default,
// keeps what the user chose for it, shows the σ it means, and is off for edits that have none.
TEST(MainWindow, TheStrengthControlFollowsTheCurrentEdit) {
  REQUIRE_GL();
  cm::ui::MainWindow window;
  cm::ui::EditToolBar* bar = window.editBar();
  QSpinBox* strength = bar->strengthBox();
  bar->setKind(cm::edit::EditKind::Inpaint);
  EXPECT_EQ(strength->text(), QStringLiteral("auto"));
  EXPECT_LT(window.controller()->parameters().strength, 0) << "auto leaves the strength to the engine";
  EXPECT_TRUE(strength->toolTip().contains(QStringLiteral("large hole"))) << strength->toolTip().toStdString();
  EXPECT_FALSE(bar->stepsBox()->isEnabled()) << "at auto each window takes one evaluation";
  strength->stepUp();
  EXPECT_TRUE(bar->stepsBox()->isEnabled()) << "a strength set runs every step";
  const int inpaint_default = qRound(100 * cm::engine::spec_of(cm::edit::EditKind::Inpaint).strength);
  EXPECT_EQ(strength->value(), inpaint_default + 1) << "out of auto at the default, not at 0 %";
  EXPECT_TRUE(strength->toolTip().contains(QStringLiteral("σ = "))) << strength->toolTip().toStdString();
  strength->setValue(inpaint_default + 7);
  EXPECT_NEAR(window.controller()->parameters().strength, (inpaint_default + 7) / 100.0, 1e-9);
  bar->setKind(cm::edit::EditKind::Denoise);
  EXPECT_FALSE(strength->isEnabled());
  EXPECT_FALSE(bar->stepsBox()->isEnabled()) << "a denoise is one evaluation whatever the steps";
  EXPECT_FALSE(bar->seedBox()->isEnabled()) << "a denoise draws no noise";
  EXPECT_FALSE(bar->blendSlider()->isEnabled());
  QPushButton* variations = show_variations_button(window);
  ASSERT_TRUE(variations);
  EXPECT_FALSE(variations->isEnabled()) << "four variations of a denoise are one picture four times";
  bar->setKind(cm::edit::EditKind::SuperResolve);
  EXPECT_TRUE(strength->isEnabled());
  EXPECT_TRUE(bar->seedBox()->isEnabled());
  EXPECT_TRUE(variations->isEnabled());
  EXPECT_EQ(strength->text(), QStringLiteral("auto"));
  EXPECT_FALSE(bar->stepsBox()->isEnabled()) << "at auto each tile of a super-resolution takes one evaluation";
  strength->stepUp();
  EXPECT_TRUE(bar->stepsBox()->isEnabled()) << "a strength set runs every step";
  strength->setValue(strength->minimum());  // back to auto
  EXPECT_EQ(strength->text(), QStringLiteral("auto"));
  bar->setKind(cm::edit::EditKind::Inpaint);
  EXPECT_EQ(strength->value(), inpaint_default + 7);  // remembered per edit
}

// At the window's first size (1200 × 800) every toolbar control is on screen: none behind a
// toolbar's » extension, where Discard edit was in issue 33 (finding 11).
TEST(MainWindow, EveryToolbarControlFitsTheWindowsFirstSize) {
  REQUIRE_GL();
  cm::ui::MainWindow window;
  EXPECT_EQ(window.size(), QSize(1200, 800));
  window.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
  QTest::qWait(50);
  int checked = 0;
  for (QToolBar* bar : window.findChildren<QToolBar*>()) {
    int right = 0;
    for (QAction* a : bar->actions()) {
      if (a->isSeparator()) continue;
      QWidget* w = bar->widgetForAction(a);
      ASSERT_NE(w, nullptr);
      EXPECT_TRUE(w->isVisible()) << bar->windowTitle().toStdString() << ": '" << a->text().toStdString() << "' is hidden";
      right = std::max(right, w->geometry().right());
      ++checked;
    }
    for (QToolButton* more : bar->findChildren<QToolButton*>(QStringLiteral("qt_toolbar_ext_button")))
      EXPECT_FALSE(more->isVisible()) << bar->windowTitle().toStdString() << " overflows into its » menu";
    // Room to spare for a wider system font than the tests' one.
    EXPECT_LT(right, bar->width() - 60) << bar->windowTitle().toStdString() << " is full to its last pixels";
  }
  EXPECT_GT(checked, 15);
}

// 16 bits per channel can be exported from an 8-bit photo (PNG, TIFF), and 8 from a 16-bit one.
TEST_F(Editor, ExportOffersEitherBitDepth) {
  openPhoto(32, 24, [](int x, int y) { return QColor(7 * x, 9 * y, 30); });
  const QString deep = dir.filePath(QStringLiteral("deep.png")), flat = dir.filePath(QStringLiteral("flat.png"));
  ASSERT_TRUE(window.exportTo(deep, 95, 16)) << window.lastError().toStdString();
  EXPECT_EQ(cm::imageio::load_image(deep.toStdString()).bit_depth, 16);
  ASSERT_TRUE(window.exportTo(flat)) << window.lastError().toStdString();  // the photo's own
  EXPECT_EQ(cm::imageio::load_image(flat.toStdString()).bit_depth, 8);
}

// A grey photo opens with Colorize chosen.
TEST_F(Editor, AGreyPhotoOpensWithColorizeChosen) {
  openPhoto(40, 30, [](int x, int y) { return QColor(3 * x + y, 3 * x + y, 3 * x + y); });
  EXPECT_EQ(window.controller()->parameters().kind, cm::edit::EditKind::Colorize);
  bool hint_brush_checked = false;  // the toolbar shows the tool that was chosen
  for (QAction* a : window.findChildren<QAction*>())
    if (a->text() == QLatin1String("Hint brush")) hint_brush_checked = a->isChecked();
  EXPECT_TRUE(hint_brush_checked);
}

// Colorize previews a grey photo at once (from its grey, at the edit's strength), but waits for a
// hint on a colour photo: a preview there could only show the user's colours taken away.
TEST_F(Editor, ColorizeWaitsForAHintOnAColourPhoto) {
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  openPhoto(40, 30, [](int x, int y) { return QColor(3 * x + y, 3 * x + y, 3 * x + y); });
  window.controller()->requestPreview();
  ASSERT_TRUE(ready.wait(20000)) << window.lastError().toStdString();
  ready.clear();
  openPhoto(40, 30, [](int x, int y) { return QColor(3 * x, 2 * y, 50); });
  window.setTool(cm::ui::Tool::HintBrush);
  window.controller()->requestPreview();
  EXPECT_FALSE(ready.wait(1500));
  EXPECT_FALSE(window.controller()->hasPreview());
  paint_stroke(window, QPointF(10, 10), QPointF(14, 12));  // a hint: now there is something to do
  ASSERT_TRUE(ready.wait(20000)) << window.lastError().toStdString();
}

// The eyedropper picks what is shown: the preview where there is one. The toolbar shows both
// brush colours, so X does not swap blind. Help lists every shortcut from the actions themselves.
TEST_F(Editor, EyedropperSwatchAndShortcutList) {
  const QImage photo = openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 100); });
  window.setBrushDiameter(12);
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  paint_stroke(window, QPointF(20, 20), QPointF(30, 24));
  ASSERT_TRUE(ready.wait(20000));
  const QImage preview = window.controller()->preview();
  QPoint changed(-1, -1);  // a pixel the preview changed
  for (int y = 18; y < 27 && changed.x() < 0; ++y)
    for (int x = 18; x < 32; ++x)
      if (preview.pixelColor(x, y).rgb() != photo.pixelColor(x, y).rgb()) {
        changed = QPoint(x, y);
        break;
      }
  ASSERT_GE(changed.x(), 0) << "the preview changed nothing under the stroke";
  QTest::mouseClick(window.canvas(), Qt::LeftButton, Qt::ControlModifier,
                    window.canvas()->imageToWidget(QPointF(changed) + QPointF(0.5, 0.5)).toPoint());
  EXPECT_EQ(window.foreground().rgb(), preview.pixelColor(changed).rgb());

  const QColor picked = window.foreground();
  const QImage swatch = window.colourAction()->icon().pixmap(24, 24).toImage();
  EXPECT_EQ(swatch.pixelColor(4, 4).rgb(), picked.rgb());
  for (QAction* a : window.actions())  // X: the swap
    if (a->shortcut() == QKeySequence(Qt::Key_X)) a->trigger();
  EXPECT_NE(window.foreground().rgb(), picked.rgb());
  EXPECT_EQ(window.colourAction()->icon().pixmap(24, 24).toImage().pixelColor(4, 4).rgb(), window.foreground().rgb());

  const QString shortcuts = window.shortcutList();
  for (const char* key : {"Ctrl+Z", "Ctrl+M", "Ctrl+O", "Return", "Esc", "F12"})
    EXPECT_TRUE(shortcuts.contains(QString::fromLatin1(key))) << key << " missing from:\n" << shortcuts.toStdString();
}

// `cmedit bad.png` shows why the photo did not open, as File › Open does, instead of only logging it.
TEST(MainWindow, APhotoNamedOnTheCommandLineThatFailsIsShown) {
  cm::ui::MainWindow window;
  QStringList warnings;
  window.setWarningSink([&](const QString& title, const QString& text) { warnings << title + QStringLiteral(": ") + text; });
  QTemporaryDir dir;
  const QString bad = dir.filePath(QStringLiteral("bad.png"));
  QFile file(bad);
  ASSERT_TRUE(file.open(QIODevice::WriteOnly));
  file.write("not a PNG at all");
  file.close();
  EXPECT_FALSE(window.openFromCommandLine(bad));
  EXPECT_TRUE(warnings.isEmpty());  // shown once the window is up, from the event loop
  ASSERT_TRUE(QTest::qWaitFor([&] { return !warnings.isEmpty(); }, 2000));
  EXPECT_EQ(warnings.size(), 1);
  EXPECT_TRUE(warnings.front().startsWith(QStringLiteral("Cannot open photo: "))) << warnings.front().toStdString();
  EXPECT_TRUE(warnings.front().contains(QStringLiteral("bad.png"))) << warnings.front().toStdString();
}

// Settings › Device › cuda on a machine without CUDA: the message speaks of the editor (not of a
// command-line flag), and the menu goes back to the device that runs.
TEST(MainWindow, AnImpossibleDeviceLeavesTheMenuOnTheOneThatRuns) {
  QSettings().remove(QStringLiteral("engine/device"));
  cm::ui::MainWindow window;
  QString why;
  if (window.controller()->configureEngine(QStringLiteral("cuda"), QStringLiteral("auto"), &why))
    GTEST_SKIP() << "CUDA works here: the choice is possible";
  QStringList warnings;
  window.setWarningSink([&](const QString&, const QString& text) { warnings << text; });
  QAction* cuda = nullptr;
  QAction* automatic = nullptr;
  for (QAction* a : window.findChildren<QAction*>()) {
    if (a->text() == QLatin1String("cuda") && a->isCheckable()) cuda = a;
    if (a->text() == QLatin1String("auto") && a->isCheckable() && !automatic) automatic = a;  // the Device menu comes first
  }
  ASSERT_TRUE(cuda && automatic);
  ASSERT_TRUE(automatic->isChecked());
  cuda->trigger();
  ASSERT_EQ(warnings.size(), 1);
  EXPECT_FALSE(warnings.front().contains(QStringLiteral("--device"))) << warnings.front().toStdString();
  EXPECT_TRUE(warnings.front().contains(QStringLiteral("keeps running on cpu"))) << warnings.front().toStdString();
  EXPECT_FALSE(cuda->isChecked());
  EXPECT_TRUE(automatic->isChecked());
  EXPECT_EQ(QSettings().value(QStringLiteral("engine/device"), QStringLiteral("auto")).toString(), QStringLiteral("auto"));
}

// Export is offered only with a photo open; a new photo's status shows no preview time of the last.
TEST_F(Editor, ExportWaitsForAPhotoAndANewPhotoStartsWithAFreshStatus) {
  EXPECT_FALSE(window.exportAction()->isEnabled());
  openPhoto(48, 40, [](int x, int y) { return QColor(5 * x, 6 * y, 90); });
  EXPECT_TRUE(window.exportAction()->isEnabled());
  window.document()->paintStroke(cm::ui::Layer::Mask, {QPointF(20, 20)}, cm::ui::Brush{8, 1.0});
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  ASSERT_TRUE(ready.wait(20000));
  window.setUnsavedChangesPrompt([](const QString&) { return QMessageBox::Discard; });
  const QString other = dir.filePath(QStringLiteral("other.png"));
  ASSERT_TRUE(synthetic_photo(30, 20, [](int, int) { return QColor(1, 2, 3); }).save(other));
  ASSERT_TRUE(window.requestOpen(other));
  for (QLabel* label : window.statusBar()->findChildren<QLabel*>())
    EXPECT_FALSE(label->text().contains(QStringLiteral("preview in"))) << label->text().toStdString();
}

TEST_F(Editor, SuperResolvingASelectionResizesTheDocumentUndoably) {
  const QImage photo = openPhoto(64, 48, [](int x, int y) { return QColor(3 * x, 4 * y, 128); });
  const QImage original = window.document()->photo().copy();
  window.setTool(cm::ui::Tool::Select);
  QComboBox* scale = window.editBar()->scaleBox();
  EXPECT_TRUE(scale->isEnabled());  // Select chooses super-resolution, whose factor this is
  scale->setCurrentIndex(scale->findData(2));

  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  cm::ui::Canvas* canvas = window.canvas();
  // Drag from the corner of pixel (8, 8) to the corner of pixel (24, 20): a 16×12 selection.
  QTest::mousePress(canvas, Qt::LeftButton, {}, canvas->imageToWidget(QPointF(8.2, 8.2)).toPoint());
  QTest::mouseMove(canvas, canvas->imageToWidget(QPointF(16, 14)).toPoint());
  QTest::mouseRelease(canvas, Qt::LeftButton, {}, canvas->imageToWidget(QPointF(23.8, 19.8)).toPoint());
  ASSERT_TRUE(ready.wait(20000)) << window.lastError().toStdString();
  const QImage preview = window.controller()->preview();
  ASSERT_EQ(preview.width(), 2 * window.controller()->parameters().selection.width());
  ASSERT_EQ(preview.height(), 2 * window.controller()->parameters().selection.height());

  const QRect selection = window.controller()->parameters().selection;
  EXPECT_EQ(selection, QRect(8, 8, 16, 12));
  // At the auto strength each tile takes one evaluation whatever the Steps (EditSpec::
  // one_step_at_default), so the first preview is the refined one that Apply commits; the photo's
  // selection is not drawn over the enlarged preview.
  ASSERT_GT(window.controller()->parameters().refine_steps, 1);
  ASSERT_TRUE(QTest::qWaitFor([&] { return window.controller()->previewComplete(); }, 20000));
  EXPECT_EQ(window.controller()->previewSteps(), 1);
  EXPECT_TRUE(canvas->selection().isEmpty());
  window.applyAction()->trigger();
  const QImage result = window.document()->photo();
  ASSERT_EQ(result.size(), preview.size());
  const QString history = window.document()->undoStack()->text(window.document()->undoStack()->index() - 1);
  EXPECT_TRUE(history.contains(QStringLiteral("one step a tile"))) << history.toStdString();
  bool size_shown = false;  // the status bar says the new size
  for (QLabel* label : window.statusBar()->findChildren<QLabel*>())
    size_shown |= label->text().startsWith(QStringLiteral("%1 × %2").arg(result.width()).arg(result.height()));
  EXPECT_TRUE(size_shown);
  // Every 2×2 block of the result averages to its source pixel (16-bit result of an 8-bit photo).
  double worst = 0;
  for (int y = 0; y < selection.height(); ++y)
    for (int x = 0; x < selection.width(); ++x) {
      double sum = 0;
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) sum += result.pixelColor(2 * x + dx, 2 * y + dy).rgba64().red();
      worst = std::max(worst, std::abs(sum / 4 / 257.0 - photo.pixelColor(selection.x() + x, selection.y() + y).red()));
    }
  EXPECT_LT(worst, 0.05);
  window.undoAction()->trigger();
  EXPECT_EQ(window.document()->photo(), original);
}

TEST_F(Editor, AStripOfVariationsAndPickingOne) {
  openPhoto(48, 40, [](int x, int y) { return QColor(5 * x, 6 * y, 90); });
  window.document()->paintStroke(cm::ui::Layer::Mask, {QPointF(20, 20)}, cm::ui::Brush{8, 1.0});
  QSignalSpy strip(window.controller(), &cm::ui::EditController::variationsReady);
  QPushButton* show = showVariationsButton();
  ASSERT_NE(show, nullptr);
  show->click();
  ASSERT_TRUE(strip.wait(20000)) << window.lastError().toStdString();
  // Once every job is back, the status bar no longer says "working…". (The live preview's refined
  // step may start while the strip runs on a loaded machine, so wait for the engine to be idle and
  // the UI thread to have heard of it, rather than a fixed time.)
  const auto says_working = [&] {
    for (QLabel* label : window.statusBar()->findChildren<QLabel*>())
      if (label->text().contains(QStringLiteral("working"))) return true;
    return false;
  };
  EXPECT_TRUE(QTest::qWaitFor([&] {
    return !window.controller()->status().busy && window.controller()->status().queue_depth == 0 && !says_working();
  }, 20000));
  const QVector<QImage> variations = window.controller()->variations();
  ASSERT_EQ(variations.size(), 4);
  EXPECT_NE(variations[0], variations[1]);
  ASSERT_TRUE(window.variationButtons()[2]->isEnabled());
  // Each is the part of the photo the edit changed (EditController::variationOrigin).
  ASSERT_TRUE(window.controller()->variationOrigin());
  const QRect part(*window.controller()->variationOrigin(), variations[2].size());
  EXPECT_TRUE(part.contains(QPoint(20, 20)));
  const QImage photo = window.document()->photo();
  const int seed = window.seed();
  window.variationButtons()[2]->click();
  EXPECT_EQ(window.seed(), seed + 3);
  EXPECT_EQ(window.controller()->preview().copy(part), variations[2]);
  EXPECT_TRUE(same_outside(window.controller()->preview(), photo, part));
  window.applyAction()->trigger();
  EXPECT_EQ(window.document()->photo().copy(part), variations[2]);
  EXPECT_TRUE(same_outside(window.document()->photo(), photo, part));
}

// A variation's thumbnail shows the edit, not the whole photo: a 12-px dab on a 1600 × 1200 photo
// scaled whole into 96 px was under a pixel, and four thumbnails of the same photo. A dab's
// thumbnail is the variation at its own pixels around it.
TEST_F(Editor, AVariationsThumbnailShowsWhereItDiffers) {
  openPhoto(1600, 1200, [](int x, int y) { return QColor((x * 7 + y * 3) % 200, (x * y) % 180, 90 + (x + y) % 60); });
  window.document()->paintStroke(cm::ui::Layer::Mask, {QPointF(800, 600)}, cm::ui::Brush{12, 1.0});
  QSignalSpy strip(window.controller(), &cm::ui::EditController::variationsReady);
  showVariationsButton()->click();
  ASSERT_TRUE(strip.wait(30000)) << window.lastError().toStdString();
  QRect changed;
  for (const QRect& area : window.controller()->variationAreas()) changed |= area;
  ASSERT_FALSE(changed.isEmpty());
  ASSERT_LE(std::max(changed.width(), changed.height()), 48) << "the test needs a change under half a thumbnail";
  QRect around(0, 0, 96, 96);
  around.moveCenter(changed.center());
  for (int i = 0; i < 2; ++i) {
    const QImage shown = window.variationButtons()[i]->icon().pixmap(96, 96).toImage().convertToFormat(QImage::Format_RGB32);
    ASSERT_TRUE(window.controller()->adoptVariation(i));  // the whole picture of it
    EXPECT_EQ(shown, window.controller()->preview().copy(around).convertToFormat(QImage::Format_RGB32)) << "variation " << i;
  }
}

// A super-resolution's variations are whole enlarged pictures, not parts of the photo (variations
// along a mask are): no origin, each thumbnail all of its picture, and picked, the whole preview.
TEST_F(Editor, ASuperResolutionsVariationsAreWholePictures) {
  openPhoto(32, 24, [](int x, int y) { return QColor(7 * x, 9 * y, (x * y) % 200); });
  window.editBar()->setKind(cm::edit::EditKind::SuperResolve);
  QSignalSpy strip(window.controller(), &cm::ui::EditController::variationsReady);
  showVariationsButton()->click();
  ASSERT_TRUE(strip.wait(30000)) << window.lastError().toStdString();
  const QVector<QImage>& variations = window.controller()->variations();
  ASSERT_FALSE(variations.isEmpty());
  EXPECT_FALSE(window.controller()->variationOrigin()) << "an enlargement taken for a part of the photo";
  ASSERT_GT(variations[0].width(), 32);
  const QImage shown = window.variationButtons()[0]->icon().pixmap(96, 96).toImage().convertToFormat(QImage::Format_RGB32);
  const QImage whole = variations[0].convertToFormat(QImage::Format_RGBA8888).scaled(96, 96, Qt::KeepAspectRatio, Qt::SmoothTransformation);
  EXPECT_EQ(shown, whole.convertToFormat(QImage::Format_RGB32));
  ASSERT_TRUE(window.controller()->adoptVariation(0));
  EXPECT_EQ(window.controller()->preview(), variations[0]);
}

// The main states of the editor on the sample photo, each reached for real and saved as a
// screenshot: into $CMEDIT_SCREENSHOT_DIR when set (the README's docs/screenshots are made with
// CMEDIT_TEST_MODEL=models/default), else into a temporary folder.
TEST_F(Editor, ScreenshotsOfTheMainStates) {
  const char* out_env = std::getenv("CMEDIT_SCREENSHOT_DIR");
  const QString out = out_env ? QString::fromUtf8(out_env) : dir.filePath(QStringLiteral("shots"));
  ASSERT_TRUE(QDir().mkpath(out));
  window.resize(1280, 820);
  ASSERT_TRUE(window.openImage(QStringLiteral(CMEDIT_SAMPLE_PHOTO))) << window.lastError().toStdString();
  QStringList saved;
  const auto shot = [&](const QString& name) {
    QTest::qWait(150);  // let the canvas paint its last frame
    const QString path = out + QLatin1Char('/') + name + QStringLiteral(".png");
    ASSERT_TRUE(window.grab().toImage().save(path)) << path.toStdString();
    saved << path;
  };
  shot(QStringLiteral("1-photo"));

  cm::ui::Canvas* canvas = window.canvas();
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  window.setBrushDiameter(40);
  const QVector<QPointF> stroke = {{300, 180}, {330, 200}, {360, 230}, {380, 270}};
  QTest::mousePress(canvas, Qt::LeftButton, {}, canvas->imageToWidget(stroke[0]).toPoint());
  for (const QPointF& p : stroke) QTest::mouseMove(canvas, canvas->imageToWidget(p).toPoint());
  QTest::mouseRelease(canvas, Qt::LeftButton, {}, canvas->imageToWidget(stroke.back()).toPoint());
  ASSERT_TRUE(ready.wait(30000)) << window.lastError().toStdString();
  shot(QStringLiteral("2-inpaint-preview"));

  QSignalSpy strip(window.controller(), &cm::ui::EditController::variationsReady);
  QPushButton* show = showVariationsButton();
  ASSERT_NE(show, nullptr);
  show->click();
  ASSERT_TRUE(strip.wait(60000)) << window.lastError().toStdString();
  shot(QStringLiteral("3-variations"));
  ASSERT_TRUE(apply_and_wait(window, 60000)) << window.lastError().toStdString();

  window.setTool(cm::ui::Tool::Select);
  ready.clear();
  QTest::mousePress(canvas, Qt::LeftButton, {}, canvas->imageToWidget(QPointF(120, 100)).toPoint());
  QTest::mouseMove(canvas, canvas->imageToWidget(QPointF(180, 150)).toPoint());
  QTest::mouseRelease(canvas, Qt::LeftButton, {}, canvas->imageToWidget(QPointF(248, 196)).toPoint());
  ASSERT_TRUE(ready.wait(60000)) << window.lastError().toStdString();
  shot(QStringLiteral("4-superres-preview"));

  window.overlayAction()->trigger();
  shot(QStringLiteral("5-debug-overlay"));
  for (const QString& path : saved) EXPECT_GT(QFileInfo(path).size(), 10000) << path.toStdString();
}

}  // namespace
