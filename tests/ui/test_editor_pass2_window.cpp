// The editor's second pass as a new user (issue 33), the window's side: its status bar, tools,
// toolbars and panels, export, the unexported-changes question and the log file (compare and the
// empty canvas: test_editor_pass2_view.cpp). Each test drives the real window and fails without
// its fix.
#include "ui/editor_fixture.h"

#include "core/dng_writer.h"
#include "ui/document.h"
#include "ui/edit_toolbar.h"

#include <QAction>
#include <QAbstractButton>
#include <QApplication>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QTimer>
#include <QLabel>
#include <QMessageBox>
#include <QStatusBar>
#include <QProcess>
#include <QRegularExpression>

#include <tuple>
#include <utility>

namespace {

using namespace cm::ui::testing;

// Finding 15: a second copy of the editor must not hide or remove the first copy's log lines,
// while the first still runs.
TEST(EditorLog, ASecondCopyKeepsTheFirstCopysLinesWhileItRuns) {
  REQUIRE_GL();
  QTemporaryDir dir;
  const QString photo = dir.filePath(QStringLiteral("in.png"));
  ASSERT_TRUE(synthetic_photo(40, 30, [](int x, int y) { return QColor(6 * x, 8 * y, 90); }).save(photo));
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.insert(QStringLiteral("XDG_STATE_HOME"), dir.filePath(QStringLiteral("state")));
  env.insert(QStringLiteral("XDG_CONFIG_HOME"), dir.filePath(QStringLiteral("config")));
  const QString log_path = dir.filePath(QStringLiteral("state/cmedit/cmedit.log"));
  const auto log_text = [&] {
    QFile file(log_path);
    return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()) : QString();
  };

  QProcess first;
  first.setProcessEnvironment(env);
  first.start(QStringLiteral(CMEDIT_EDITOR), {photo});
  ASSERT_TRUE(first.waitForStarted(10000));
  const QString first_pid = QString::number(first.processId());
  // Its lines are in the file while it runs (not held back in a buffer until it exits).
  const bool first_logged = QTest::qWaitFor([&] {
    const QString text = log_text();
    return text.contains(QStringLiteral("(pid %1)").arg(first_pid)) && text.contains(QStringLiteral("opened"));
  }, 30000);
  EXPECT_TRUE(first_logged) << "the running editor's lines are not in the log:\n" << log_text().toStdString();

  QProcess second;
  second.setProcessEnvironment(env);
  second.start(QStringLiteral(CMEDIT_EDITOR), {QStringLiteral("--screenshot"), dir.filePath(QStringLiteral("shot.png")), photo});
  ASSERT_TRUE(second.waitForFinished(60000));
  EXPECT_EQ(second.exitCode(), 0) << second.readAllStandardError().toStdString();

  ASSERT_EQ(first.state(), QProcess::Running);
  const QString text = log_text();
  EXPECT_TRUE(text.contains(QStringLiteral("(pid %1)").arg(first_pid))) << text.toStdString();
  // Each line names its process, so the two copies' lines can be told apart.
  const int first_lines = int(text.count(QRegularExpression(QStringLiteral("\\] \\[%1\\] \\[").arg(first_pid))));
  EXPECT_GE(first_lines, 2) << text.toStdString();
  EXPECT_GE(text.count(QStringLiteral("starting (pid")), 2) << "the second copy's start is missing:\n" << text.toStdString();
  first.kill();
  first.waitForFinished(10000);
}

// The status bar's description of the photo (size, bit depth, grey or RGB).
QString image_info(cm::ui::MainWindow& window) {
  for (QLabel* label : window.statusBar()->findChildren<QLabel*>())
    if (label->text().contains(QStringLiteral("-bit"))) return label->text();
  return {};
}

// Finding 5: the status bar describes the photo as it is now: RGB once a colorization is
// applied, grey again after undo.
TEST_F(Editor, TheStatusBarSaysRgbAfterAColorizationIsApplied) {
  openPhoto(64, 48, [](int x, int y) { return QColor(2 * x + y, 2 * x + y, 2 * x + y); });
  EXPECT_TRUE(image_info(window).contains(QStringLiteral("8-bit gray"))) << image_info(window).toStdString();
  window.setForeground(QColor(40, 160, 60));
  window.setBrushDiameter(8);
  paint_stroke(window, QPointF(20, 20), QPointF(40, 24));
  ASSERT_TRUE(apply_and_wait(window)) << window.lastError().toStdString();
  ASSERT_FALSE(window.document()->photoIsGrey());
  EXPECT_TRUE(image_info(window).contains(QStringLiteral("8-bit RGB"))) << image_info(window).toStdString();
  window.undoAction()->trigger();
  EXPECT_TRUE(image_info(window).contains(QStringLiteral("8-bit gray"))) << image_info(window).toStdString();
}

// Finding 6: Colorize, chosen for a grey photo, is not kept for a colour photo opened next (it
// would wait for hints there): the Mask brush and Inpaint are chosen again.
TEST_F(Editor, AColourPhotoAfterAGreyOneGoesBackToTheMaskBrush) {
  openPhoto(40, 30, [](int x, int y) { return QColor(3 * x + y, 3 * x + y, 3 * x + y); });
  ASSERT_EQ(window.controller()->parameters().kind, cm::edit::EditKind::Colorize);
  openPhoto(40, 30, [](int x, int y) { return QColor(3 * x, 2 * y, 50); });  // nothing unexported: no question
  EXPECT_EQ(window.controller()->parameters().kind, cm::edit::EditKind::Inpaint);
  QAction* mask_brush = nullptr;
  for (QAction* a : window.findChildren<QAction*>())
    if (a->text() == QLatin1String("Mask brush")) mask_brush = a;
  ASSERT_NE(mask_brush, nullptr);
  EXPECT_TRUE(mask_brush->isChecked());
  window.setBrushDiameter(6);
  QSignalSpy ready(window.controller(), &cm::ui::EditController::previewReady);
  paint_stroke(window, QPointF(10, 10), QPointF(16, 12));  // a mask, not a hint
  EXPECT_GT(painted_pixels(window.document()->mask()), 0);
  EXPECT_TRUE(ready.wait(20000));
}

// The export dialog as it opens for the current photo: its file-type filter and file name
// (cancelled). Qt's own dialog, so the test can read it.
std::pair<QString, QString> export_dialog_offer(cm::ui::MainWindow& window) {
  QCoreApplication::setAttribute(Qt::AA_DontUseNativeDialogs);
  QString filter, file;
  QTimer poll;
  poll.setInterval(20);
  QObject::connect(&poll, &QTimer::timeout, [&] {
    if (auto* dialog = qobject_cast<QFileDialog*>(QApplication::activeModalWidget())) {
      filter = dialog->selectedNameFilter();
      file = dialog->selectedFiles().value(0);
      dialog->reject();
    }
  });
  poll.start();
  window.exportAction()->trigger();
  return {filter, file};
}

// Finding 8: the export dialog's file-type filter is the suggested name's type (a JPEG's
// suggestion is offered under JPEG, a PNG's under PNG), never a .jpg name under "PNG".
TEST_F(Editor, ExportSuggestsANameOfTheFiltersType) {
  const QString jpeg = dir.filePath(QStringLiteral("dandelion.jpg"));
  ASSERT_TRUE(synthetic_photo(40, 30, [](int x, int y) { return QColor(6 * x, 8 * y, 90); }).save(jpeg));
  ASSERT_TRUE(window.openImage(jpeg));
  auto [filter, file] = export_dialog_offer(window);
  EXPECT_TRUE(filter.contains(QStringLiteral("*.jpg"))) << filter.toStdString();
  EXPECT_TRUE(file.endsWith(QStringLiteral("dandelion-edited.jpg"))) << file.toStdString();
  openPhoto(40, 30, [](int x, int y) { return QColor(6 * x, 8 * y, 90); });  // in.png
  std::tie(filter, file) = export_dialog_offer(window);
  EXPECT_TRUE(filter.startsWith(QStringLiteral("PNG"))) << filter.toStdString();
  EXPECT_TRUE(file.endsWith(QStringLiteral("in-edited.png"))) << file.toStdString();
}

// Photos as people have them (issue 32): a HEIC is offered back as HEIC, and a camera RAW, which
// cmedit cannot write, as a TIFF (16 bits, the photographer's usual next step).
TEST_F(Editor, ExportOffersAHeicAsHeicAndARawAsTiff) {
  const QString raw = dir.filePath(QStringLiteral("shot.dng"));
  cm::testing::write_dng(raw.toStdString(), 64, 48);
  ASSERT_TRUE(window.openImage(raw)) << window.lastError().toStdString();
  auto [filter, name] = export_dialog_offer(window);
  EXPECT_TRUE(filter.startsWith(QStringLiteral("TIFF"))) << filter.toStdString();
  EXPECT_TRUE(name.endsWith(QStringLiteral("shot-edited.tif"))) << name.toStdString();

  const QString heic = dir.filePath(QStringLiteral("phone.heic"));
  ASSERT_TRUE(window.exportTo(heic)) << window.lastError().toStdString();  // a HEIC to open
  ASSERT_TRUE(window.openImage(heic)) << window.lastError().toStdString();
  std::tie(filter, name) = export_dialog_offer(window);
  EXPECT_TRUE(filter.startsWith(QStringLiteral("HEIC"))) << filter.toStdString();
  EXPECT_TRUE(name.endsWith(QStringLiteral("phone-edited.heic"))) << name.toStdString();
}

// Finding 9: the "*" and the question before losing work mean the photo differs from its file:
// painting and discarding a mask is no change of it, undoing an applied edit brings it back, and
// an applied edit is one.
TEST_F(Editor, OnlyAChangedPhotoCountsAsUnexportedWork) {
  openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 90); });
  const QString other = dir.filePath(QStringLiteral("other.png"));
  ASSERT_TRUE(synthetic_photo(40, 30, [](int x, int y) { return QColor(200, 3 * x, 4 * y); }).save(other));
  int asked = 0;
  window.setUnsavedChangesPrompt([&](const QString&) {
    ++asked;
    return QMessageBox::Cancel;
  });
  window.setBrushDiameter(6);
  paint_stroke(window, QPointF(30, 20), QPointF(36, 24));
  window.discardAction()->trigger();  // Esc: the mask goes
  paint_stroke(window, QPointF(10, 10), QPointF(14, 12));
  window.document()->clearLayer(cm::ui::Layer::Mask);
  EXPECT_FALSE(window.isWindowModified()) << "painting and discarding masks marked the photo changed";
  EXPECT_TRUE(window.confirmLosingChanges());
  EXPECT_EQ(asked, 0);

  paint_stroke(window, QPointF(30, 20), QPointF(36, 24));
  ASSERT_TRUE(apply_and_wait(window)) << window.lastError().toStdString();
  EXPECT_TRUE(window.isWindowModified());
  EXPECT_FALSE(window.confirmLosingChanges());
  EXPECT_EQ(asked, 1);
  window.undoAction()->trigger();  // the photo as opened again
  EXPECT_FALSE(window.isWindowModified());
  window.redoAction()->trigger();
  EXPECT_TRUE(window.isWindowModified());
  ASSERT_TRUE(window.exportTo(dir.filePath(QStringLiteral("out.png"))));
  EXPECT_FALSE(window.isWindowModified());
  window.undoAction()->trigger();  // now the exported photo is the one to keep
  EXPECT_TRUE(window.isWindowModified());
  EXPECT_TRUE(window.requestOpen(other) == false && asked == 2);
}

// Finding 10: the question about unexported changes is answered by buttons in its own words:
// "Export…", not "Save" (the editor exports; it has no Save).
TEST_F(Editor, TheUnexportedChangesQuestionOffersExport) {
  openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 90); });
  window.setBrushDiameter(6);
  paint_stroke(window, QPointF(30, 20), QPointF(36, 24));
  ASSERT_TRUE(apply_and_wait(window)) << window.lastError().toStdString();
  QString question;
  QStringList buttons;
  QTimer poll;
  poll.setInterval(20);
  QObject::connect(&poll, &QTimer::timeout, [&] {
    if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
      question = box->text();
      for (QAbstractButton* b : box->buttons()) buttons << b->text().remove(QLatin1Char('&'));
      box->button(QMessageBox::Cancel)->click();
    }
  });
  poll.start();
  EXPECT_FALSE(window.confirmLosingChanges());  // Cancel
  EXPECT_TRUE(question.contains(QStringLiteral("Export them"))) << question.toStdString();
  EXPECT_TRUE(buttons.contains(QStringLiteral("Export…"))) << buttons.join(QLatin1Char('|')).toStdString();
  EXPECT_FALSE(buttons.contains(QStringLiteral("Save"))) << buttons.join(QLatin1Char('|')).toStdString();
}

// Finding 12: the brush panel shows Grow mask, Feather and Fill from only for an edit that has
// those settings in the edit registry: all three for Inpaint, grow and feather for a sketch,
// none for Colorize, nor for Select's super-resolution.
TEST_F(Editor, TheBrushPanelShowsOnlyTheSettingsOfTheCurrentEdit) {
  openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 90); });
  const auto shown = [&](const QString& label) {
    for (QLabel* l : window.findChildren<QLabel*>())
      if (l->text() == label) return l->isVisible();
    ADD_FAILURE() << "no label " << label.toStdString();
    return false;
  };
  const auto rows = [&] {
    return std::tuple{shown(QStringLiteral("Grow mask")), shown(QStringLiteral("Feather")), shown(QStringLiteral("Fill from")),
                      shown(QStringLiteral("Noise level"))};
  };
  const auto choose = [&](const QString& tool) {  // as its toolbar button does
    for (QAction* a : window.findChildren<QAction*>())
      if (a->text() == tool) return a->trigger();
    ADD_FAILURE() << "no tool " << tool.toStdString();
  };
  EXPECT_EQ(rows(), std::tuple(true, true, true, false)) << "Mask brush (Inpaint)";
  choose(QStringLiteral("Sketch brush"));
  EXPECT_EQ(rows(), std::tuple(true, true, false, false)) << "Sketch brush";
  choose(QStringLiteral("Hint brush"));
  EXPECT_EQ(rows(), std::tuple(false, false, false, false)) << "Hint brush (Colorize)";
  choose(QStringLiteral("Select"));
  EXPECT_EQ(rows(), std::tuple(false, false, false, false)) << "Select (super-resolution)";
  EXPECT_TRUE(shown(QStringLiteral("Size ( [ ] )")));  // the brush itself stays
  choose(QStringLiteral("Mask brush"));
  EXPECT_EQ(rows(), std::tuple(true, true, true, false)) << "Mask brush again";
  // Denoise, from the Edit box: where the mask is painted (grow, feather) and at what level.
  window.editBar()->setKind(cm::edit::EditKind::Denoise);
  EXPECT_EQ(rows(), std::tuple(true, true, false, true)) << "Denoise";
  EXPECT_TRUE(window.statusBar()->currentMessage().contains(QStringLiteral("Paint with the mask brush")))
      << "nothing painted: the status bar does not say that a mask makes it a part";
  EXPECT_EQ(window.controller()->parameters().settings.value(QStringLiteral("sigma")), 0) << "auto: estimated";
  for (QDoubleSpinBox* box : window.findChildren<QDoubleSpinBox*>())
    if (box->suffix() == QStringLiteral(" levels")) box->setValue(25);
  EXPECT_EQ(window.controller()->parameters().settings.value(QStringLiteral("sigma")), 25);
}

}  // namespace
