// The editor's main window: menus, status bar and the canvas. For now it opens a photo and
// shows it; the document model, tools and preview come on top of this.
#pragma once

#include <QMainWindow>
#include <QString>

class QAction;
class QLabel;

namespace cm::ui {

class Canvas;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);

  // Loads and shows a photo. On failure keeps the current photo, shows the reason in the
  // status bar and returns false; lastError() then holds the message.
  bool openImage(const QString& path);
  QString lastError() const { return last_error_; }
  QString currentPath() const { return current_path_; }

  Canvas* canvas() const { return canvas_; }
  QAction* overlayAction() const { return overlay_action_; }

 private Q_SLOTS:
  void chooseAndOpenImage();
  void showAbout();

 private:
  void buildMenus();

  Canvas* canvas_ = nullptr;
  QAction* overlay_action_ = nullptr;
  QLabel* image_info_ = nullptr;
  QString current_path_;
  QString last_error_;
};

// Versions of every component of this build, one per line ("LibTorch  1.13.0  (…)").
QStringList buildComponentLines();

}  // namespace cm::ui
