// The photo canvas: an OpenGL widget that shows the image fitted to the view (aspect kept,
// centred) and, on top, the Dear ImGui debug overlay (F12). Knows nothing of documents or
// models: it is handed a QImage and lines of overlay text.
#pragma once

#include <QImage>
#include <QOpenGLFunctions>
#include <QOpenGLWidget>
#include <QStringList>
#include <QTimer>

#include <memory>

class QOpenGLTexture;
struct ImGuiContext;

namespace cm::ui {

class Canvas : public QOpenGLWidget, protected QOpenGLFunctions {
  Q_OBJECT

 public:
  explicit Canvas(QWidget* parent = nullptr);
  ~Canvas() override;

  void setImage(const QImage& image);
  const QImage& image() const { return image_; }

  bool overlayVisible() const { return overlay_visible_; }
  void setOverlayVisible(bool visible);
  // Lines shown in the overlay's "about" section (versions, device, model).
  void setOverlayInfo(const QStringList& lines);

  // Where the image is drawn, in widget (logical) pixels; empty without an image.
  QRectF imageRect() const;

 Q_SIGNALS:
  void overlayVisibilityChanged(bool visible);

 protected:
  void initializeGL() override;
  void paintGL() override;
  void keyPressEvent(QKeyEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;

 private:
  void drawOverlay();
  void uploadImageIfChanged();
  void forwardMouseButton(QMouseEvent* event, bool down);

  QImage image_;
  bool image_dirty_ = false;
  std::unique_ptr<QOpenGLTexture> texture_;
  ImGuiContext* imgui_ = nullptr;
  bool overlay_visible_ = false;
  bool overlay_needs_layout_ = false;
  QStringList overlay_info_;
  QTimer overlay_refresh_;  // repaints for live numbers only while the overlay is shown
  qint64 frames_ = 0;
};

}  // namespace cm::ui
