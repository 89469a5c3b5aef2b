// The photo canvas: an OpenGL widget that shows an image (fitted and centred until the user zooms:
// wheel about the cursor, middle- or Space-drag to pan) and, on top, the stroke being painted, the
// brush outline and the Dear ImGui debug overlay (F12). Knows nothing of documents or models: it
// is handed a QImage, reports finished strokes in image pixels, and shows overlay lines.
#pragma once

#include "ui/canvas_tiles.h"

#include <QElapsedTimer>
#include <QImage>
#include <QLineF>
#include <QOpenGLFunctions>
#include <QOpenGLWidget>
#include <QStringList>
#include <QTimer>
#include <QVector>

#include <memory>

class QLabel;
class QOpenGLTexture;
struct ImGuiContext;

namespace cm::ui {

class Canvas : public QOpenGLWidget, protected QOpenGLFunctions {
  Q_OBJECT

 public:
  explicit Canvas(QWidget* parent = nullptr);
  ~Canvas() override;

  void setImage(const QImage& image);
  // Replaces the pixels of the image at `at` with `part` (same image size): only they are
  // converted and sent to the graphics card again.
  void setImagePart(const QImage& part, QPoint at);
  const QImage& image() const { return image_; }
  // Pixels sent to the graphics card by the last frame that sent any (a stroke's rectangle, not the photo).
  qint64 lastUploadPixels() const { return tiles_.lastUploadPixels(); }
  // What the canvas says while it has no image (no photo yet, or the first one failed to open):
  // without it a new user sees an empty dark rectangle.
  void setEmptyHint(const QString& text);
  QString emptyHint() const;

  bool overlayVisible() const { return overlay_visible_; }
  void setOverlayVisible(bool visible);
  // Lines shown in the overlay's "about" section (versions, device, model).
  void setOverlayInfo(const QStringList& lines);
  // Live lines (queue, memory, last error) and the latencies of recent steps, in ms.
  void setOverlayStatus(const QStringList& lines, const QVector<float>& step_ms);

  // Where the image is drawn, in widget (logical) pixels; empty without an image.
  QRectF imageRect() const;
  QPointF widgetToImage(QPointF widget_point) const;
  QPointF imageToWidget(QPointF image_point) const;

  // Zoom: image pixels per widget pixel ratio; fit() returns to "whole image in view".
  void fit();
  void setZoom(double zoom, QPointF anchor_widget_point);
  double zoom() const;

  // Painting: with a brush set, left-drag paints a stroke (shown live, reported on release).
  void setBrush(double diameter_image_px, const QColor& color, bool enabled);
  // How much the stroke being painted covers the image under it (0…1).
  void setStrokeOpacity(double opacity);
  // Selecting: in selection mode left-drag draws a rectangle (reported on release, image pixels).
  void setSelectionMode(bool on);
  void setSelection(const QRect& image_rect);
  QRect selection() const { return selection_; }  // as drawn (image pixels); empty: none
  // Lines drawn at any zoom as a thin light line with a dark edge (image pixels, mask_outline.h):
  // where a painted region lies, over a picture that must show its own colours.
  void setOutline(const QVector<QLineF>& image_lines);
  const QVector<QLineF>& outline() const { return outline_; }

 Q_SIGNALS:
  void overlayVisibilityChanged(bool visible);
  void strokeMoved(const QVector<QPointF>& image_points);  // the stroke so far, while the button is down
  void strokeFinished(const QVector<QPointF>& image_points);
  void selectionFinished(const QRect& image_rect);
  void colorPicked(const QPointF& image_point);  // Ctrl+click with a brush: the eyedropper

 protected:
  void initializeGL() override;
  void paintGL() override;
  void keyPressEvent(QKeyEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void keyReleaseEvent(QKeyEvent* event) override;

 private:
  void drawStroke();
  void drawOutline();
  void drawStrokeLayer();
  void drawOverlay();
  void uploadImageIfChanged();
  void forwardMouseButton(QMouseEvent* event, bool down);

  QImage image_;
  QLabel* empty_hint_ = nullptr;
  bool image_dirty_ = false;
  CanvasTiles tiles_;
  QImage stroke_layer_;  // the stroke being painted, opaque, in device pixels (drawStrokeLayer)
  std::unique_ptr<QOpenGLTexture> stroke_texture_;
  ImGuiContext* imgui_ = nullptr;
  bool overlay_visible_ = false;
  bool overlay_needs_layout_ = false;
  QStringList overlay_info_, overlay_status_;
  QVector<float> step_ms_;
  QTimer overlay_refresh_;  // repaints for live numbers only while the overlay is shown
  qint64 frames_ = 0;
  QElapsedTimer frame_clock_;

  double zoom_ = 0;        // widget pixels per image pixel; 0 = fit
  QPointF origin_;         // widget position of the image's top-left corner when zoomed
  bool space_down_ = false;
  bool panning_ = false;
  QPointF pan_last_;
  bool brush_enabled_ = false;
  double brush_diameter_ = 24;
  QColor brush_color_ = Qt::white;
  double stroke_opacity_ = 0.45;
  bool stroking_ = false;
  QVector<QPointF> stroke_;  // image pixels
  bool selection_mode_ = false;
  bool selecting_ = false;
  QPointF selection_start_;
  QRect selection_;  // image pixels
  QVector<QLineF> outline_;  // image pixels
  QPointF cursor_{-1e6, -1e6};  // widget pixels; far away until the mouse moves in
};

}  // namespace cm::ui
