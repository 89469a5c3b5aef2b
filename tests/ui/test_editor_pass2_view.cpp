// The editor's second pass as a new user (issue 33), the view's side: what holding `\` compares
// with, and the canvas before a photo is open. Each test drives the real window and fails
// without its fix.
#include "ui/editor_fixture.h"

#include "ui/document.h"

#include <QAction>
#include <QSettings>
#include <QStatusBar>

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

}  // namespace
