#include "ui/canvas.h"

#include "ui/document.h"
#include "ui/image_rows.h"

#include <imgui.h>
#include <backends/imgui_impl_opengl3.h>

#include <QKeyEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QOpenGLContext>
#include <QOpenGLTexture>
#include <QPainter>
#include <QVBoxLayout>
#include <QWheelEvent>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include <cstdint>
#include <utility>
#include <vector>

namespace cm::ui {
namespace {
constexpr int kOverlayRefreshMs = 100;
constexpr float kBackground = 0.16f;  // neutral grey around the photo
}  // namespace

Canvas::Canvas(QWidget* parent) : QOpenGLWidget(parent) {
  setFocusPolicy(Qt::StrongFocus);
  setMouseTracking(true);
  overlay_refresh_.setInterval(kOverlayRefreshMs);
  connect(&overlay_refresh_, &QTimer::timeout, this, qOverload<>(&QWidget::update));
}

Canvas::~Canvas() {
  if (!imgui_) return;
  makeCurrent();
  tiles_.clear();
  stroke_texture_.reset();
  ImGui::SetCurrentContext(imgui_);
  ImGui_ImplOpenGL3_Shutdown();
  ImGui::DestroyContext(imgui_);
  doneCurrent();
}

void Canvas::setImage(const QImage& image) {
  image_ = image.convertToFormat(QImage::Format_RGBA8888);
  tiles_.invalidate(image_, image_.rect());
  image_dirty_ = true;
  if (empty_hint_) empty_hint_->setVisible(image_.isNull());
  update();
}

void Canvas::setImagePart(const QImage& part, QPoint at) {
  const QRect area = QRect(at, part.size()) & image_.rect();
  if (area.isEmpty()) return;
  // image_ is the canvas's own: written in place, no copy.
  copy_block(part.convertToFormat(QImage::Format_RGBA8888), area.topLeft() - at, image_, area);
  tiles_.invalidate(image_, area);
  image_dirty_ = true;
  update();
}

void Canvas::setEmptyHint(const QString& text) {
  if (!empty_hint_) {
    // A child label, centred by a layout, over the GL picture: QOpenGLWidget composes its children.
    empty_hint_ = new QLabel(this);
    empty_hint_->setAlignment(Qt::AlignCenter);
    empty_hint_->setAttribute(Qt::WA_TransparentForMouseEvents);  // the canvas keeps its clicks
    empty_hint_->setStyleSheet(QStringLiteral("color: #b4b4b4; font-size: 16pt; background: transparent;"));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(empty_hint_, 0, Qt::AlignCenter);
  }
  empty_hint_->setText(text);
  empty_hint_->setVisible(image_.isNull());
}

QString Canvas::emptyHint() const { return empty_hint_ ? empty_hint_->text() : QString(); }

void Canvas::setOverlayVisible(bool visible) {
  if (visible == overlay_visible_) return;
  overlay_visible_ = visible;
  overlay_needs_layout_ = visible;
  if (visible) overlay_refresh_.start(); else overlay_refresh_.stop();
  update();
  Q_EMIT overlayVisibilityChanged(visible);
}

void Canvas::setOverlayInfo(const QStringList& lines) {
  overlay_info_ = lines;
  update();
}

void Canvas::setOverlayStatus(const QStringList& lines, const QVector<float>& step_ms) {
  overlay_status_ = lines;
  step_ms_ = step_ms;
  if (overlay_visible_) update();
}

QRectF Canvas::imageRect() const {
  if (image_.isNull() || width() <= 0 || height() <= 0) return {};
  if (zoom_ > 0) return QRectF(origin_, QSizeF(image_.width() * zoom_, image_.height() * zoom_));
  const double scale = std::min(double(width()) / image_.width(), double(height()) / image_.height());
  const QSizeF size(image_.width() * scale, image_.height() * scale);
  return QRectF(QPointF((width() - size.width()) / 2, (height() - size.height()) / 2), size);
}

double Canvas::zoom() const {
  const QRectF r = imageRect();
  return r.isEmpty() ? 1.0 : r.width() / image_.width();
}

QPointF Canvas::widgetToImage(QPointF p) const {
  const QRectF r = imageRect();
  if (r.isEmpty()) return {};
  return (p - r.topLeft()) / zoom();
}

QPointF Canvas::imageToWidget(QPointF p) const { return imageRect().topLeft() + p * zoom(); }

void Canvas::fit() {
  zoom_ = 0;
  update();
}

void Canvas::setZoom(double zoom, QPointF anchor) {
  if (image_.isNull()) return;
  zoom = std::clamp(zoom, 0.02, 64.0);
  const QPointF under_cursor = widgetToImage(anchor);  // this image point stays under the cursor
  zoom_ = zoom;
  origin_ = anchor - under_cursor * zoom;
  update();
}

void Canvas::setBrush(double diameter, const QColor& color, bool enabled) {
  brush_diameter_ = diameter;
  brush_color_ = color;
  brush_enabled_ = enabled;
  update();
}

void Canvas::setStrokeOpacity(double opacity) {
  stroke_opacity_ = std::clamp(opacity, 0.0, 1.0);
  if (stroking_) update();
}

void Canvas::setSelectionMode(bool on) {
  selection_mode_ = on;
  update();
}

void Canvas::setSelection(const QRect& r) {
  selection_ = r;
  update();
}

void Canvas::setOutline(const QVector<QLineF>& image_lines) {
  if (image_lines == outline_) return;
  outline_ = image_lines;
  update();
}

void Canvas::drawOutline() {
  if (outline_.isEmpty()) return;
  // The lines in view, in widget pixels, once for both passes.
  const QRectF view = QRectF(rect()).adjusted(-2, -2, 2, 2);
  std::vector<std::pair<ImVec2, ImVec2>> shown;
  for (const QLineF& line : outline_) {
    const QPointF a = imageToWidget(line.p1()), b = imageToWidget(line.p2());
    if (view.intersects(QRectF(a, b).normalized().adjusted(-1, -1, 1, 1)))
      shown.emplace_back(ImVec2(float(a.x()), float(a.y())), ImVec2(float(b.x()), float(b.y())));
  }
  ImDrawList* draw = ImGui::GetForegroundDrawList();
  // Dark under light, as the selection's frame: it shows on a white sky and on a black coat.
  for (const auto& [colour, width] : {std::pair{IM_COL32(0, 0, 0, 170), 3.0f}, std::pair{IM_COL32(255, 255, 255, 230), 1.2f}})
    for (const auto& [a, b] : shown) draw->AddLine(a, b, colour, width);
}

void Canvas::drawStroke() {
  ImDrawList* draw = ImGui::GetForegroundDrawList();
  drawOutline();
  if (!selection_.isEmpty()) {
    const QPointF a = imageToWidget(selection_.topLeft()), b = imageToWidget(selection_.bottomRight() + QPoint(1, 1));
    draw->AddRect(ImVec2(float(a.x()), float(a.y())), ImVec2(float(b.x()), float(b.y())), IM_COL32(255, 255, 255, 230), 0, 0, 1.5f);
    draw->AddRect(ImVec2(float(a.x()) - 1, float(a.y()) - 1), ImVec2(float(b.x()) + 1, float(b.y()) + 1), IM_COL32(0, 0, 0, 200));
  }
  if (selection_mode_) return;
  const float radius = float(brush_diameter_ / 2 * zoom());
  if (stroking_) drawStrokeLayer();
  if (brush_enabled_ && underMouse())
    draw->AddCircle(ImVec2(float(cursor_.x()), float(cursor_.y())), radius, IM_COL32(255, 255, 255, 200), 48, 1.5f);
}

void Canvas::drawStrokeLayer() {
  // The dabs overlap: drawn one by one with the stroke's opacity they would pile up to opaque. So
  // they are painted opaque into a layer of the widget's size, and the layer drawn once with it.
  const double dpr = devicePixelRatioF();
  const QSize size(int(std::ceil(width() * dpr)), int(std::ceil(height() * dpr)));
  if (stroke_layer_.size() != size) stroke_layer_ = QImage(size, QImage::Format_ARGB32_Premultiplied);
  stroke_layer_.fill(Qt::transparent);
  QPainter painter(&stroke_layer_);
  painter.setRenderHint(QPainter::Antialiasing);
  painter.setPen(Qt::NoPen);
  painter.setBrush(QColor(brush_color_.red(), brush_color_.green(), brush_color_.blue()));
  painter.scale(dpr, dpr);
  const double radius = brush_diameter_ / 2 * zoom();
  for (const QPointF& p : dabs_along(stroke_, brush_diameter_ / 2)) painter.drawEllipse(imageToWidget(p), radius, radius);
  painter.end();
  stroke_texture_ = std::make_unique<QOpenGLTexture>(stroke_layer_, QOpenGLTexture::DontGenerateMipMaps);
  ImGui::GetForegroundDrawList()->AddImage(reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(stroke_texture_->textureId())),
                                           ImVec2(0, 0), ImVec2(float(width()), float(height())), ImVec2(0, 0),
                                           ImVec2(float(width() * dpr / size.width()), float(height() * dpr / size.height())),
                                           IM_COL32(255, 255, 255, int(std::lround(255 * stroke_opacity_))));
}

void Canvas::initializeGL() {
  initializeOpenGLFunctions();
  imgui_ = ImGui::CreateContext();
  ImGui::SetCurrentContext(imgui_);
  ImGui::GetIO().IniFilename = nullptr;  // no imgui.ini next to the user's files
  ImGui::StyleColorsDark();
  ImGui_ImplOpenGL3_Init(context()->isOpenGLES() ? "#version 300 es" : "#version 130");
}

void Canvas::uploadImageIfChanged() {
  if (!image_dirty_) return;
  image_dirty_ = false;
  if (image_.isNull()) return tiles_.clear();
  if (!tiles_.upload(image_)) spdlog::warn("the graphics card refused a texture for the {} x {} photo", image_.width(), image_.height());
}

void Canvas::paintGL() {
  ImGui::SetCurrentContext(imgui_);
  ImGuiIO& io = ImGui::GetIO();
  const float dpr = float(devicePixelRatioF());
  io.DisplaySize = ImVec2(float(width()), float(height()));
  io.DisplayFramebufferScale = ImVec2(dpr, dpr);
  // Real time between frames, so the overlay's frames/s means something.
  io.DeltaTime = frame_clock_.isValid() ? std::max(1e-4f, float(frame_clock_.restart()) / 1000.0f) : 1.0f / 60.0f;
  if (!frame_clock_.isValid()) frame_clock_.start();

  glViewport(0, 0, int(width() * dpr), int(height() * dpr));
  glClearColor(kBackground, kBackground, kBackground, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  uploadImageIfChanged();

  ImGui_ImplOpenGL3_NewFrame();
  if (overlay_needs_layout_) {
    // An auto-sized ImGui window is measured in its first frame and drawn from the second:
    // lay it out once without rendering so that the overlay shows in the very next frame.
    overlay_needs_layout_ = false;
    ImGui::NewFrame();
    drawOverlay();
    ImGui::EndFrame();
  }
  ImGui::NewFrame();
  if (!image_.isNull()) tiles_.draw(ImGui::GetBackgroundDrawList(), imageRect(), image_.size());
  drawStroke();
  if (overlay_visible_) drawOverlay();
  ImGui::Render();
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
  ++frames_;
}

void Canvas::drawOverlay() {
  ImGui::SetNextWindowPos(ImVec2(10, 10), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowBgAlpha(0.85f);
  ImGui::Begin("cmedit debug (F12)", nullptr, ImGuiWindowFlags_AlwaysAutoResize);
  ImGui::Text("frame %lld", static_cast<long long>(frames_));
  if (image_.isNull()) ImGui::TextUnformatted("no image");
  else ImGui::Text("image %d x %d in %d tiles, last sent %.2f MP", image_.width(), image_.height(), tiles_.tileCount(),
                   double(tiles_.lastUploadPixels()) / 1e6);
  ImGui::Text("GL %s", reinterpret_cast<const char*>(glGetString(GL_RENDERER)));
  ImGui::Text("%.0f frames/s", double(ImGui::GetIO().Framerate));
  for (const QString& line : overlay_status_) ImGui::TextUnformatted(line.toUtf8().constData());
  if (!step_ms_.isEmpty()) {
    const float top = *std::max_element(step_ms_.begin(), step_ms_.end());
    ImGui::PlotHistogram("##steps", step_ms_.data(), int(step_ms_.size()), 0,
                         QStringLiteral("step latency, last %1 (max %2 ms)").arg(step_ms_.size()).arg(double(top), 0, 'f', 0).toUtf8().constData(),
                         0.0f, top * 1.1f, ImVec2(320, 60));
  }
  ImGui::Separator();
  for (const QString& line : overlay_info_) ImGui::TextUnformatted(line.toUtf8().constData());
  ImGui::End();
}

void Canvas::keyPressEvent(QKeyEvent* event) {
  if (event->key() == Qt::Key_F12) {
    setOverlayVisible(!overlay_visible_);
    return;
  }
  if (event->key() == Qt::Key_Space && !event->isAutoRepeat()) {
    space_down_ = true;
    setCursor(Qt::OpenHandCursor);
    return;
  }
  QOpenGLWidget::keyPressEvent(event);
}

void Canvas::keyReleaseEvent(QKeyEvent* event) {
  if (event->key() == Qt::Key_Space && !event->isAutoRepeat()) {
    space_down_ = false;
    unsetCursor();
    return;
  }
  QOpenGLWidget::keyReleaseEvent(event);
}

void Canvas::wheelEvent(QWheelEvent* event) {
  const double steps = event->angleDelta().y() / 120.0;
  if (steps != 0) setZoom(zoom() * std::pow(1.25, steps), event->position());
  event->accept();
}

void Canvas::mouseMoveEvent(QMouseEvent* event) {
  cursor_ = event->position();
  if (panning_) {
    const QPointF delta = event->position() - pan_last_;
    pan_last_ = event->position();
    if (zoom_ == 0) {  // leave fit mode where it is
      origin_ = imageRect().topLeft();
      zoom_ = zoom();
    }
    origin_ += delta;
  } else if (stroking_) {
    stroke_.push_back(widgetToImage(event->position()));
    Q_EMIT strokeMoved(stroke_);
  } else if (selecting_) {
    selection_ = QRectF(selection_start_, widgetToImage(event->position())).normalized().toAlignedRect() & image_.rect();
    update();
  }
  if (brush_enabled_ || panning_) update();
  if (imgui_ && overlay_visible_) {
    ImGui::SetCurrentContext(imgui_);
    ImGui::GetIO().MousePos = ImVec2(float(event->position().x()), float(event->position().y()));
    update();
  }
  QOpenGLWidget::mouseMoveEvent(event);
}

void Canvas::forwardMouseButton(QMouseEvent* event, bool down) {
  if (!imgui_ || !overlay_visible_) return;
  ImGui::SetCurrentContext(imgui_);
  ImGuiIO& io = ImGui::GetIO();
  io.MousePos = ImVec2(float(event->position().x()), float(event->position().y()));
  if (event->button() == Qt::LeftButton) io.MouseDown[0] = down;
  if (event->button() == Qt::RightButton) io.MouseDown[1] = down;
  if (event->button() == Qt::MiddleButton) io.MouseDown[2] = down;
  update();
}

void Canvas::mousePressEvent(QMouseEvent* event) {
  forwardMouseButton(event, true);
  const bool over_overlay = imgui_ && overlay_visible_ && ImGui::GetIO().WantCaptureMouse;
  if (event->button() == Qt::MiddleButton || (event->button() == Qt::LeftButton && space_down_)) {
    panning_ = true;
    pan_last_ = event->position();
  } else if (event->button() == Qt::LeftButton && brush_enabled_ && (event->modifiers() & Qt::ControlModifier) &&
             !image_.isNull() && !over_overlay) {
    Q_EMIT colorPicked(widgetToImage(event->position()));
  } else if (event->button() == Qt::LeftButton && selection_mode_ && !image_.isNull() && !over_overlay) {
    selecting_ = true;
    selection_start_ = widgetToImage(event->position());
    selection_ = QRect();
  } else if (event->button() == Qt::LeftButton && brush_enabled_ && !image_.isNull() && !over_overlay) {
    stroking_ = true;
    stroke_ = {widgetToImage(event->position())};
    update();
  }
  QOpenGLWidget::mousePressEvent(event);
}

void Canvas::mouseReleaseEvent(QMouseEvent* event) {
  forwardMouseButton(event, false);
  if (panning_ && (event->button() == Qt::MiddleButton || event->button() == Qt::LeftButton)) {
    panning_ = false;
  } else if (selecting_ && event->button() == Qt::LeftButton) {
    selecting_ = false;
    selection_ = QRectF(selection_start_, widgetToImage(event->position())).normalized().toAlignedRect() & image_.rect();
    update();
    Q_EMIT selectionFinished(selection_);
  } else if (stroking_ && event->button() == Qt::LeftButton) {
    stroking_ = false;
    stroke_.push_back(widgetToImage(event->position()));
    const QVector<QPointF> points = stroke_;
    stroke_.clear();
    update();
    Q_EMIT strokeFinished(points);
  }
  QOpenGLWidget::mouseReleaseEvent(event);
}

}  // namespace cm::ui
