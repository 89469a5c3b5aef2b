// The editor's second pass as a new user (issue 33), the view's side: what holding `\` compares
// with, the canvas before a photo is open, and Return and Escape in the panels' fields. Each test drives the real window and fails
// without its fix.
#include "ui/editor_fixture.h"

#include "ui/document.h"

#include <QAction>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QUndoStack>
#include <QDropEvent>
#include <QLabel>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QStatusBar>
#include <QUrl>
#include <QWindow>

namespace {

using namespace cm::ui::testing;

// The window's action of that menu text (without its & mnemonic), or nullptr.
QAction* action_named(const QWidget& window, const QString& text) {
  for (QAction* a : window.findChildren<QAction*>())
    if (a->text().remove(QLatin1Char('&')) == text) return a;
  return nullptr;
}

// What the canvas shows while `\` is held.
QImage while_held(cm::ui::Canvas* canvas) {
  QTest::keyPress(canvas, Qt::Key_Backslash);
  const QImage shown = canvas->image();
  QTest::keyRelease(canvas, Qt::Key_Backslash);
  return shown;
}

// Finding 13: before/after compares with the photo as opened by default, as Krita's and
// Photoshop's users expect.
TEST(MainWindow, ComparesWithThePhotoAsOpenedByDefault) {
  QSettings().remove(QStringLiteral("view/compare_with"));
  cm::ui::MainWindow window;
  QAction* as_opened = action_named(window, QStringLiteral("The photo as opened"));
  QAction* as_applied = action_named(window, QStringLiteral("The last applied state"));
  ASSERT_TRUE(as_opened && as_applied) << "no View › Compare with choice";
  EXPECT_TRUE(as_opened->isChecked());
  EXPECT_FALSE(as_applied->isChecked());
}

// Finding 13: once an edit is applied, holding `\` still shows a "before": the photo as opened, or
// with the other choice the last applied state (without the preview over it). The choice is kept.
TEST_F(Editor, HoldingBackslashComparesWithThePhotoAsOpenedOrAsLastApplied) {
  const QImage opened = openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, (x * y) % 256); })
                            .convertToFormat(QImage::Format_RGBA8888);
  QAction* as_opened = action_named(window, QStringLiteral("The photo as opened"));
  QAction* as_applied = action_named(window, QStringLiteral("The last applied state"));
  ASSERT_TRUE(as_opened && as_applied) << "no View › Compare with choice";
  as_opened->trigger();
  window.setBrushDiameter(6);
  paint_stroke(window, QPointF(30, 20), QPointF(36, 24));
  ASSERT_TRUE(apply_and_wait(window)) << window.lastError().toStdString();
  const QImage applied = window.document()->photo().convertToFormat(QImage::Format_RGBA8888);
  ASSERT_NE(applied, opened);
  cm::ui::Canvas* canvas = window.canvas();

  EXPECT_EQ(while_held(canvas), opened) << "\\ showed the applied edit, not the photo as opened";
  EXPECT_NE(canvas->image(), opened) << "released, the canvas stayed on the photo as opened";

  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  paint_stroke(window, QPointF(10, 10), QPointF(16, 14));
  ASSERT_TRUE(ready.wait(20000)) << window.lastError().toStdString();
  as_applied->trigger();
  EXPECT_EQ(while_held(canvas), applied) << "\\ did not show the last applied state";
  EXPECT_EQ(QSettings().value(QStringLiteral("view/compare_with")).toString(), QStringLiteral("applied"));
  as_opened->trigger();
  QTest::keyPress(canvas, Qt::Key_Backslash);
  EXPECT_EQ(canvas->image(), opened);
  EXPECT_TRUE(window.statusBar()->currentMessage().contains(QStringLiteral("as opened")))
      << window.statusBar()->currentMessage().toStdString();
  QTest::keyRelease(canvas, Qt::Key_Backslash);
  EXPECT_EQ(QSettings().value(QStringLiteral("view/compare_with")).toString(), QStringLiteral("opened"));
}

// Drags `url` over the middle of the canvas and drops it, as the window system delivers it (to the
// top-level window, which finds the widget that takes drops). False when the drag was refused.
bool drop_on_canvas(cm::ui::MainWindow& window, const QUrl& url) {
  QMimeData data;
  data.setUrls({url});
  const QPointF at = window.canvas()->mapTo(&window, window.canvas()->rect().center());
  QDragEnterEvent enter(at.toPoint(), Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(window.windowHandle(), &enter);
  if (!enter.isAccepted()) return false;
  QDropEvent drop(at, Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(window.windowHandle(), &drop);
  return drop.isAccepted();
}

// Finding 14: a photo that fails to open leaves a canvas that says what to do, until one opens.
TEST(MainWindow, AnEmptyCanvasSaysHowToOpenAPhoto) {
  REQUIRE_GL();
  QTemporaryDir dir;
  cm::ui::MainWindow window;
  QStringList warnings;
  window.setWarningSink([&](const QString& title, const QString&) { warnings << title; });
  window.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
  EXPECT_FALSE(window.openFromCommandLine(dir.filePath(QStringLiteral("missing.jpg"))));
  EXPECT_TRUE(QTest::qWaitFor([&] { return warnings.size() == 1; }, 2000));  // the failure, then the canvas
  QLabel* hint = nullptr;  // what the canvas says, over it
  for (QLabel* label : window.canvas()->findChildren<QLabel*>())
    if (label->text().contains(QStringLiteral("Open a photo"))) hint = label;
  ASSERT_NE(hint, nullptr) << "the empty canvas says nothing";
  EXPECT_TRUE(hint->isVisible());
  EXPECT_TRUE(hint->text().contains(QStringLiteral("Open a photo (Ctrl+O)"))) << hint->text().toStdString();
  EXPECT_TRUE(hint->text().contains(QStringLiteral("drop one here"))) << hint->text().toStdString();
  EXPECT_TRUE(window.canvas()->rect().contains(hint->geometry().center())) << "not on the canvas";

  const QString photo = dir.filePath(QStringLiteral("in.png"));
  ASSERT_TRUE(synthetic_photo(40, 30, [](int x, int y) { return QColor(6 * x, 8 * y, 90); }).save(photo));
  ASSERT_TRUE(window.openImage(photo));
  EXPECT_FALSE(hint->isVisible()) << "the hint stays over the photo";
}

// Finding 14: a photo dropped on the canvas opens the way File › Open does: after the question
// about unexported changes. A web link is refused at once instead of being dropped for nothing.
TEST_F(Editor, APhotoDroppedOnTheCanvasOpensAfterTheQuestion) {
  openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 90); });
  const QString first = window.currentPath(), other = dir.filePath(QStringLiteral("other.png"));
  ASSERT_TRUE(synthetic_photo(40, 30, [](int x, int y) { return QColor(200, 3 * x, 4 * y); }).save(other));
  window.setBrushDiameter(6);
  paint_stroke(window, QPointF(30, 20), QPointF(36, 24));
  ASSERT_TRUE(apply_and_wait(window)) << window.lastError().toStdString();
  int asked = 0;
  QMessageBox::StandardButton answer = QMessageBox::Cancel;
  window.setUnsavedChangesPrompt([&](const QString&) {
    ++asked;
    return answer;
  });

  EXPECT_FALSE(drop_on_canvas(window, QUrl(QStringLiteral("https://example.org/photo.jpg"))));
  ASSERT_TRUE(drop_on_canvas(window, QUrl::fromLocalFile(other)));
  EXPECT_TRUE(QTest::qWaitFor([&] { return asked == 1; }, 5000));
  EXPECT_EQ(window.currentPath(), first) << "Cancel kept the edited photo";
  answer = QMessageBox::Discard;
  ASSERT_TRUE(drop_on_canvas(window, QUrl::fromLocalFile(other)));
  EXPECT_TRUE(QTest::qWaitFor([&] { return window.currentPath() == other; }, 5000)) << window.currentPath().toStdString();
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(window.document()->size(), QSize(40, 30));
}

// A user typing a brush size and pressing Return applied the edit, and Escape in the field
// discarded the mask: the keys are Apply's and Discard's shortcuts. In a field they end the typing
// and give the keyboard back to the canvas, where Return applies.
TEST_F(Editor, ReturnAndEscapeInTheBrushSizeFieldEndTheTypingNotTheEdit) {
  openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 90); });
  window.activateWindow();
  ASSERT_TRUE(QTest::qWaitForWindowActive(&window));
  window.setBrushDiameter(6);
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  paint_stroke(window, QPointF(20, 20), QPointF(26, 24));
  ASSERT_TRUE(ready.wait(20000));
  const QUndoStack* history = window.document()->undoStack();
  const int painted = history->index();
  auto* size = window.findChild<QDockWidget*>(QStringLiteral("brush"))->findChild<QDoubleSpinBox*>();
  ASSERT_TRUE(size);

  size->setFocus();
  size->selectAll();
  QTest::keyClicks(size, QStringLiteral("9"));
  QTest::keyClick(size, Qt::Key_Return);
  EXPECT_DOUBLE_EQ(size->value(), 9.0);
  EXPECT_FALSE(window.controller()->applyPending());
  EXPECT_EQ(history->index(), painted) << "Return in the size field applied the edit";
  QTest::keyClick(size, Qt::Key_Escape);
  EXPECT_EQ(history->index(), painted) << "Escape in the size field discarded the edit";
  EXPECT_GT(painted_pixels(window.document()->mask()), 0);
  ASSERT_TRUE(QTest::qWaitFor([&] { return window.canvas()->hasFocus(); }, 2000)) << "the canvas did not get the keyboard back";

  // The same key on the canvas applies: the shortcuts are live here, so the field kept the key.
  QSignalSpy applied(window.controller(), &cm::ui::EditController::applied);
  QTest::keyClick(window.canvas(), Qt::Key_Return);
  EXPECT_TRUE(window.controller()->applyPending() || history->index() != painted);
  if (window.controller()->applyPending()) {
    ASSERT_TRUE(applied.wait(30000)) << window.lastError().toStdString();
  }
  EXPECT_NE(history->index(), painted);
}

}  // namespace
