#include "ui/canvas.h"

#include <imgui.h>
#include <backends/imgui_impl_opengl3.h>

#include <QKeyEvent>
#include <QMouseEvent>
#include <QOpenGLContext>
#include <QOpenGLTexture>

#include <cstdint>

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
  texture_.reset();
  ImGui::SetCurrentContext(imgui_);
  ImGui_ImplOpenGL3_Shutdown();
  ImGui::DestroyContext(imgui_);
  doneCurrent();
}

void Canvas::setImage(const QImage& image) {
  image_ = image.convertToFormat(QImage::Format_RGBA8888);
  image_dirty_ = true;
  update();
}

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

QRectF Canvas::imageRect() const {
  if (image_.isNull() || width() <= 0 || height() <= 0) return {};
  const double scale = std::min(double(width()) / image_.width(), double(height()) / image_.height());
  const QSizeF size(image_.width() * scale, image_.height() * scale);
  return QRectF(QPointF((width() - size.width()) / 2, (height() - size.height()) / 2), size);
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
  texture_.reset();
  if (image_.isNull()) return;
  texture_ = std::make_unique<QOpenGLTexture>(image_, QOpenGLTexture::DontGenerateMipMaps);
  texture_->setMinificationFilter(QOpenGLTexture::Linear);
  texture_->setMagnificationFilter(QOpenGLTexture::Linear);
  texture_->setWrapMode(QOpenGLTexture::ClampToEdge);
}

void Canvas::paintGL() {
  ImGui::SetCurrentContext(imgui_);
  ImGuiIO& io = ImGui::GetIO();
  const float dpr = float(devicePixelRatioF());
  io.DisplaySize = ImVec2(float(width()), float(height()));
  io.DisplayFramebufferScale = ImVec2(dpr, dpr);
  io.DeltaTime = 1.0f / 60.0f;

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
  if (texture_) {
    const QRectF r = imageRect();
    ImGui::GetBackgroundDrawList()->AddImage(reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(texture_->textureId())),
                                             ImVec2(float(r.left()), float(r.top())),
                                             ImVec2(float(r.right()), float(r.bottom())));
  }
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
  else ImGui::Text("image %d x %d", image_.width(), image_.height());
  ImGui::Text("GL %s", reinterpret_cast<const char*>(glGetString(GL_RENDERER)));
  ImGui::Separator();
  for (const QString& line : overlay_info_) ImGui::TextUnformatted(line.toUtf8().constData());
  ImGui::End();
}

void Canvas::keyPressEvent(QKeyEvent* event) {
  if (event->key() == Qt::Key_F12) {
    setOverlayVisible(!overlay_visible_);
    return;
  }
  QOpenGLWidget::keyPressEvent(event);
}

void Canvas::mouseMoveEvent(QMouseEvent* event) {
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
  QOpenGLWidget::mousePressEvent(event);
}

void Canvas::mouseReleaseEvent(QMouseEvent* event) {
  forwardMouseButton(event, false);
  QOpenGLWidget::mouseReleaseEvent(event);
}

}  // namespace cm::ui
