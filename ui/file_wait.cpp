#include "ui/file_wait.h"

#include <QElapsedTimer>
#include <QEventLoop>
#include <QProgressDialog>
#include <QTimer>

namespace cm::ui {

Waited wait_drawing(QWidget* window, const std::future<void>& work, const QString& label, bool cancellable) {
  if (is_ready(work)) return Waited::Done;
  QElapsedTimer clock;
  clock.start();
  bool cancelled = false;
  QEventLoop loop;
  // The work's thread posts nothing (it may outlive this function when cancelled): a poll every
  // 10 ms is the whole of the watching.
  QTimer poll;
  poll.setInterval(10);
  bool quiet = true;
  QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
    if (is_ready(work) || cancelled || (quiet && clock.elapsed() >= kQuietMs)) loop.quit();
  });
  poll.start();
  // Held back: a click in these first moments reaches the window when a short wait ends; when the
  // dialog comes, it is the dialog's (the window, blocked, drops it).
  loop.exec(QEventLoop::ExcludeUserInputEvents);
  if (is_ready(work)) return Waited::Done;
  quiet = false;
  QProgressDialog dialog(label, cancellable ? QObject::tr("Cancel") : QString(), 0, 0, window);
  if (!cancellable) dialog.setCancelButton(nullptr);
  dialog.setWindowModality(Qt::WindowModal);  // the window draws but takes no input meanwhile
  dialog.setMinimumDuration(0);
  dialog.setAutoClose(false);
  dialog.setAutoReset(false);
  QObject::connect(&dialog, &QProgressDialog::canceled, &loop, [&] {
    cancelled = true;
    loop.quit();
  });
  dialog.show();
  loop.exec();  // also ends early when the application quits: the work is then left as cancelled
  return is_ready(work) ? Waited::Done : Waited::Cancelled;
}

}  // namespace cm::ui
