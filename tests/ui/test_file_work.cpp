// Photo files read and written on another thread: the window goes on meanwhile, a long wait shows
// a dialog that can cancel an open, and an export in the background writes the photo as it was
// when it began, whatever the user does next.
#include "ui/editor_fixture.h"

#include "ui/document.h"
#include "ui/file_wait.h"

#include <QAbstractButton>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QProgressDialog>
#include <QTimer>

#include <chrono>
#include <future>
#include <thread>

namespace {

using namespace cm::ui::testing;
using cm::ui::Waited;
using cm::ui::wait_drawing;

TEST(FileWait, TimersRunAndNoDialogShowsWhileAShortReadLasts) {
  QWidget window;
  window.show();
  bool ticked = false, dialog = false;
  QTimer::singleShot(20, &window, [&] { ticked = true; });
  QTimer poll;
  poll.setInterval(5);
  QObject::connect(&poll, &QTimer::timeout, [&] { dialog = dialog || window.findChild<QProgressDialog*>(); });
  poll.start();
  std::future<void> work = std::async(std::launch::async, [] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); });
  EXPECT_EQ(wait_drawing(&window, work, QStringLiteral("Opening a.jpg…"), true), Waited::Done);
  EXPECT_TRUE(cm::ui::is_ready(work));
  EXPECT_TRUE(ticked) << "the window's timers stood still while the file was read";
  EXPECT_FALSE(dialog) << "a dialog flashed for a read shorter than the quiet part";
}

TEST(FileWait, ALongReadShowsADialogWhoseCancelReturnsAtOnce) {
  QWidget window;
  window.show();
  std::promise<void> release;
  std::future<void> work = std::async(std::launch::async, [f = release.get_future()] { f.wait(); });
  QString label;
  QTimer poll;
  poll.setInterval(20);
  QObject::connect(&poll, &QTimer::timeout, [&] {
    auto* dialog = window.findChild<QProgressDialog*>();
    if (!dialog || !dialog->isVisible()) return;
    label = dialog->labelText();
    if (auto* cancel = dialog->findChild<QAbstractButton*>()) cancel->click();
  });
  poll.start();
  QElapsedTimer clock;
  clock.start();
  EXPECT_EQ(wait_drawing(&window, work, QStringLiteral("Opening big.jpg…"), true), Waited::Cancelled);
  EXPECT_GE(clock.elapsed(), cm::ui::kQuietMs);
  EXPECT_EQ(label, QStringLiteral("Opening big.jpg…"));
  EXPECT_FALSE(cm::ui::is_ready(work)) << "the read is still running: the caller keeps it";
  release.set_value();
  work.wait();
}

// The picture of a photo just opened is made with its reading, on the other thread: the canvas
// shows the photo as it is, each photo its own, and a mask painted before goes with the old one.
TEST_F(Editor, EachOpenedPhotoIsShownAsItIs) {
  const QImage first = openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 90); });
  EXPECT_EQ(window.canvas()->image(), first.convertToFormat(QImage::Format_RGBA8888));
  paint_stroke(window, QPointF(30, 20), QPointF(36, 24));
  const QString other = dir.filePath(QStringLiteral("other.png"));
  const QImage second = synthetic_photo(40, 30, [](int x, int y) { return QColor(200, 6 * x, 8 * y); });
  ASSERT_TRUE(second.save(other));
  ASSERT_TRUE(window.openImage(other));
  EXPECT_EQ(window.canvas()->image(), second.convertToFormat(QImage::Format_RGBA8888));
}

// A small square of one colour at (10, 10) of the open photo: a new version of it.
void paint_photo(cm::ui::MainWindow& window, QColor colour, const QString& what) {
  QImage part(8, 8, QImage::Format_RGB888);
  part.fill(colour);
  window.document()->replacePhotoPart(part, QPoint(10, 10), what);
}

TEST_F(Editor, AnExportInTheBackgroundWritesThePhotoAsItWasWhenItBegan) {
  openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 90); });
  paint_photo(window, Qt::red, QStringLiteral("red"));
  ASSERT_TRUE(window.isWindowModified());
  const QString out = dir.filePath(QStringLiteral("out.png"));
  ASSERT_TRUE(window.exportInBackground(out)) << window.lastError().toStdString();
  EXPECT_TRUE(window.exporting());
  paint_photo(window, Qt::blue, QStringLiteral("blue"));  // while it is written
  ASSERT_TRUE(QTest::qWaitFor([&] { return !window.exporting(); }, 20000));
  EXPECT_EQ(QImage(out).pixelColor(12, 12), QColor(Qt::red));
  EXPECT_TRUE(window.isWindowModified()) << "the blue came after the export began: it is not on disk";
  window.undoAction()->trigger();  // the version written
  EXPECT_FALSE(window.isWindowModified());
}

TEST_F(Editor, AFailedBackgroundExportIsShownAndTheChangesStayUnexported) {
  openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 90); });
  paint_photo(window, Qt::red, QStringLiteral("red"));
  QString title, text;
  window.setWarningSink([&](const QString& t, const QString& m) { title = t, text = m; });
  ASSERT_TRUE(window.exportInBackground(dir.filePath(QStringLiteral("missing/out.png"))));
  ASSERT_TRUE(QTest::qWaitFor([&] { return !window.exporting(); }, 20000));
  EXPECT_EQ(title, QStringLiteral("Cannot export"));
  EXPECT_TRUE(text.contains(QStringLiteral("missing"))) << text.toStdString();
  EXPECT_TRUE(window.isWindowModified());
}

// Closing, and opening another photo, wait for the export: its end is the answer to "export
// first?", and a file half written is none.
TEST_F(Editor, ClosingOrOpeningWhileAnExportRunsWaitsForItAndAsksNothing) {
  openPhoto(64, 48, [](int x, int y) { return QColor(4 * x, 5 * y, 90); });
  int asked = 0;
  window.setUnsavedChangesPrompt([&](const QString&) { return ++asked, QMessageBox::Cancel; });
  const QString other = dir.filePath(QStringLiteral("other.png"));
  ASSERT_TRUE(synthetic_photo(40, 30, [](int, int) { return QColor(20, 200, 20); }).save(other));

  paint_photo(window, Qt::red, QStringLiteral("red"));
  const QString first = dir.filePath(QStringLiteral("first.png"));
  ASSERT_TRUE(window.exportInBackground(first, 95, 16));
  EXPECT_TRUE(window.requestOpen(other));
  EXPECT_EQ(asked, 0);
  EXPECT_EQ(QImage(first).pixelColor(12, 12), QColor(Qt::red));

  paint_photo(window, Qt::blue, QStringLiteral("blue"));
  const QString second = dir.filePath(QStringLiteral("second.png"));
  ASSERT_TRUE(window.exportInBackground(second, 95, 16));
  EXPECT_TRUE(window.close());
  EXPECT_FALSE(window.exporting());
  EXPECT_EQ(asked, 0);
  EXPECT_EQ(QImage(second).pixelColor(12, 12), QColor(Qt::blue));
}

}  // namespace
