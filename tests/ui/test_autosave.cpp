// The autosave: what it writes of the document (the photo's changed parts, the painted layers, the
// opened file by name), and what comes back after a crash, destroyed or killed.
#include "ui/document.h"
#include "ui/editor_fixture.h"
#include "ui/main_window.h"

#include <gtest/gtest.h>

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QUndoStack>

#include <cstdlib>

namespace {

using namespace cm::ui::testing;

// The autosave tests: a photo written as in.png, opened afresh (no autosave from before) in an
// editor that then "crashes" (is destroyed without its close event), and a mask stroke on it.
class Autosave : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(photo.save(in)); }
  void open_afresh(cm::ui::MainWindow& window) {
    window.discardAutosave();
    ASSERT_TRUE(window.openImage(in));
  }
  static void paint_mask(cm::ui::MainWindow& window) {
    window.document()->paintStroke(cm::ui::Layer::Mask, {QPointF(10, 10), QPointF(20, 15)}, cm::ui::Brush{5, 1.0});
  }
  static QStringList parts(const QDir& folder) {
    return folder.entryList({QStringLiteral("photo-part-*.png")}, QDir::Files, QDir::Name);
  }
  // Whether the autosave, restored in another editor, is the document as `window` has it.
  static bool restores_as(const cm::ui::MainWindow& window) {
    cm::ui::MainWindow other;
    return other.restoreAutosave() && other.document()->photo() == window.document()->photo() &&
           other.document()->mask() == window.document()->mask();
  }
  QTemporaryDir dir;
  const QImage photo = synthetic_photo(40, 30, [](int x, int y) { return QColor(6 * x, 8 * y, 100); });
  const QString in = dir.filePath(QStringLiteral("in.png"));
  QImage photo_before, mask_before;
};

TEST_F(Autosave, BringsBackTheWorkingDocument) {
  {
    cm::ui::MainWindow crashed;
    ASSERT_NO_FATAL_FAILURE(open_afresh(crashed));
    EXPECT_FALSE(crashed.autosaveNow());  // nothing changed yet: nothing to save
    paint_mask(crashed);
    ASSERT_TRUE(crashed.autosaveNow());
    const QDir saved(cm::ui::MainWindow::autosaveFolder());
    EXPECT_TRUE(saved.exists(QStringLiteral("mask.png")));
    // Only the stroke's box of it (restores_as below puts it back in its place).
    EXPECT_EQ(QImage(saved.filePath(QStringLiteral("mask.png"))).size(), crashed.document()->inkRect(cm::ui::Layer::Mask).size());
    EXPECT_FALSE(saved.exists(QStringLiteral("sketch.png"))) << "a layer with nothing painted was written";
    EXPECT_FALSE(saved.exists(QStringLiteral("photo.png"))) << "the unedited photo is its file, not a copy";
    const auto edit = [&](QRect where) {
      QImage edited = crashed.document()->photo().copy();
      for (int y = where.top(); y <= where.bottom(); ++y)
        for (int x = where.left(); x <= where.right(); ++x) edited.setPixelColor(x, y, QColor(250, (10 * x) % 256, 10));
      crashed.document()->replacePhoto(edited, QStringLiteral("edit"));
    };
    // An edit of a part of the photo writes that part, over the file.
    edit(QRect(3, 4, 2, 1));
    ASSERT_TRUE(crashed.autosaveNow());
    EXPECT_FALSE(saved.exists(QStringLiteral("photo.png")));
    ASSERT_EQ(parts(saved), QStringList{QStringLiteral("photo-part-0.png")});
    EXPECT_EQ(QImage(saved.filePath(QStringLiteral("photo-part-0.png"))).size(), QSize(2, 1));
    // A mask stroke writes nothing of the photo (on 50 MP, seconds of a core): a stand-in for the
    // part stays as it is.
    QFile part(saved.filePath(QStringLiteral("photo-part-0.png")));
    ASSERT_TRUE(part.open(QIODevice::ReadOnly));
    const QByteArray written = part.readAll();
    part.close();
    ASSERT_TRUE(part.open(QIODevice::WriteOnly | QIODevice::Truncate) && part.write("stand-in") == 8);
    part.close();
    crashed.document()->paintStroke(cm::ui::Layer::Mask, {QPointF(5, 20), QPointF(30, 22)}, cm::ui::Brush{3, 1.0});
    ASSERT_TRUE(crashed.autosaveNow());
    ASSERT_TRUE(part.open(QIODevice::ReadOnly));
    EXPECT_EQ(part.readAll(), QByteArray("stand-in")) << "the unchanged photo was written again";
    part.close();
    ASSERT_TRUE(part.open(QIODevice::WriteOnly | QIODevice::Truncate) && part.write(written) == written.size());
    part.close();
    edit(QRect(20, 10, 3, 3));
    ASSERT_TRUE(crashed.autosaveNow());
    EXPECT_EQ(parts(saved), (QStringList{QStringLiteral("photo-part-0.png"), QStringLiteral("photo-part-1.png")}));
    EXPECT_TRUE(restores_as(crashed)) << "the file and two parts";

    // Parts that add up to more than a quarter of the photo: it is written whole, and they go.
    edit(QRect(0, 0, 30, 20));
    ASSERT_TRUE(crashed.autosaveNow());
    EXPECT_TRUE(saved.exists(QStringLiteral("photo.png")));
    EXPECT_TRUE(parts(saved).isEmpty()) << parts(saved).join(QLatin1Char(' ')).toStdString();
    edit(QRect(35, 25, 2, 2));  // and the next part goes over it
    ASSERT_TRUE(crashed.autosaveNow());
    EXPECT_EQ(parts(saved), QStringList{QStringLiteral("photo-part-0.png")});
    // Back to the file's pixels (the four edits and the stroke between them undone): nothing of
    // the photo is kept.
    for (int i = 0; i < 5; ++i) crashed.document()->undoStack()->undo();
    ASSERT_EQ(crashed.document()->photo(), crashed.document()->original());
    ASSERT_TRUE(crashed.autosaveNow());
    EXPECT_FALSE(saved.exists(QStringLiteral("photo.png")));
    EXPECT_TRUE(parts(saved).isEmpty());
    EXPECT_TRUE(restores_as(crashed)) << "the file alone";
    for (int i = 0; i < 5; ++i) crashed.document()->undoStack()->redo();  // all of them at once: whole
    ASSERT_TRUE(crashed.autosaveNow());
    EXPECT_TRUE(saved.exists(QStringLiteral("photo.png")));
    photo_before = crashed.document()->photo().copy();
    mask_before = crashed.document()->mask().copy();
  }  // destroyed without closeEvent, as in a crash
  cm::ui::MainWindow next;
  ASSERT_TRUE(next.hasAutosave());
  ASSERT_TRUE(next.restoreAutosave()) << next.lastError().toStdString();
  EXPECT_EQ(next.document()->photo(), photo_before);
  EXPECT_EQ(next.document()->mask(), mask_before);
  EXPECT_EQ(next.currentPath(), in);
  EXPECT_FALSE(next.document()->undoStack()->isClean());  // still to be exported
  EXPECT_TRUE(next.isWindowModified());  // the restored photo is not the file on disk
  // Restored, it goes on from what was written: the next edit is a part over it.
  QImage edited = next.document()->photo().copy();
  edited.setPixelColor(1, 1, QColor(1, 2, 3));
  next.document()->replacePhoto(edited, QStringLiteral("edit"));
  ASSERT_TRUE(next.autosaveNow());
  EXPECT_EQ(parts(QDir(cm::ui::MainWindow::autosaveFolder())), QStringList{QStringLiteral("photo-part-0.png")});
  EXPECT_TRUE(restores_as(next));
  next.discardAutosave();
  EXPECT_FALSE(next.hasAutosave());
}

// Work on an unedited photo is autosaved as its mask and a reference to the file: restored from
// the file while it is the one opened, refused with a reason once it changed.
TEST_F(Autosave, OfAnUneditedPhotoRestoresFromItsFileWhileItIsTheSame) {
  {
    cm::ui::MainWindow crashed;
    ASSERT_NO_FATAL_FAILURE(open_afresh(crashed));
    paint_mask(crashed);
    ASSERT_TRUE(crashed.autosaveNow());
    photo_before = crashed.document()->photo().copy();
    mask_before = crashed.document()->mask().copy();
  }
  {
    cm::ui::MainWindow next;
    ASSERT_TRUE(next.restoreAutosave()) << next.lastError().toStdString();
    EXPECT_EQ(next.document()->photo(), photo_before);
    EXPECT_EQ(next.document()->mask(), mask_before);
  }
  QImage changed = photo.copy();
  changed.setPixelColor(0, 0, QColor(1, 2, 3));
  ASSERT_TRUE(changed.save(in));
  QFile(in).setFileTime(QDateTime::currentDateTime().addSecs(5), QFileDevice::FileModificationTime);
  cm::ui::MainWindow later;
  EXPECT_FALSE(later.restoreAutosave());
  EXPECT_NE(later.lastError().indexOf(QStringLiteral("changed or went away")), -1) << later.lastError().toStdString();
  later.discardAutosave();
}

// The editor killed with SIGKILL in the middle of a session (a mask, an applied edit, a sketch
// stroke and another mask stroke; tests/ui/crash_child.cpp): on restart the autosave is there and
// brings back exactly that document, the applied edit included.
TEST(Recovery, ASigkilledEditorsWorkComesBack) {
  const char* model = std::getenv("CMEDIT_TEST_MODEL");
  ASSERT_TRUE(model) << "CMEDIT_TEST_MODEL is not set (CTest sets it)";
  QTemporaryDir dir;
  const QImage photo = synthetic_photo(48, 40, [](int x, int y) { return QColor(5 * x, 6 * y, 90); });
  const QString in = dir.filePath(QStringLiteral("in.png")), state = dir.filePath(QStringLiteral("state"));
  ASSERT_TRUE(photo.save(in));

  QProcess child;
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.insert(QStringLiteral("XDG_STATE_HOME"), state);
  child.setProcessEnvironment(env);
  child.start(QStringLiteral(CMEDIT_CRASH_CHILD), {QString::fromUtf8(model), in, dir.path()});
  QByteArray said;
  while (!said.contains("READY") && !said.contains("FAIL") && child.waitForReadyRead(90000)) said += child.readAllStandardOutput();
  ASSERT_TRUE(said.contains("READY")) << said.toStdString() << child.readAllStandardError().toStdString();
  child.kill();  // SIGKILL: no destructor, no close event, nothing flushed
  ASSERT_TRUE(child.waitForFinished(10000));
  EXPECT_EQ(child.exitStatus(), QProcess::CrashExit);

  const QByteArray previous_state = qgetenv("XDG_STATE_HOME");
  qputenv("XDG_STATE_HOME", state.toLocal8Bit());
  {
    cm::ui::MainWindow next;
    ASSERT_TRUE(next.hasAutosave());
    ASSERT_TRUE(next.restoreAutosave()) << next.lastError().toStdString();
    const auto same = [&](const QImage& restored, const char* file, QImage::Format format) {
      return restored.convertToFormat(format) == QImage(dir.filePath(QLatin1String(file))).convertToFormat(format);
    };
    EXPECT_TRUE(same(next.document()->photo(), "expected-photo.png", QImage::Format_RGBA64)) << "the applied edit";
    EXPECT_TRUE(same(next.document()->mask(), "expected-mask.png", QImage::Format_Grayscale8)) << "the mask";
    EXPECT_TRUE(same(next.document()->layer(cm::ui::Layer::Strokes), "expected-sketch.png",
                     QImage::Format_ARGB32_Premultiplied)) << "the sketch";
    EXPECT_FALSE(same(next.document()->photo(), "before-apply.png", QImage::Format_RGBA64)) << "the edit was not applied";
    EXPECT_EQ(next.currentPath(), in);
    next.discardAutosave();
  }
  qputenv("XDG_STATE_HOME", previous_state);
}

}  // namespace
