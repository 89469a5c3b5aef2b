#include "ui/canvas_tiles.h"

#include <imgui.h>

#include <QOpenGLContext>
#include <QOpenGLFunctions>
#include <QOpenGLPixelTransferOptions>
#include <QOpenGLTexture>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace cm::ui {

namespace {

int power_of_two_at_least(int n) {
  int p = 1;
  while (p < n) p *= 2;
  return p;
}

// The start and length of each tile along a side of `length` pixels.
std::vector<std::pair<int, int>> spans(int length, int side) {
  std::vector<std::pair<int, int>> out;
  for (int at = 0, next = side - 1; at < length; at += next, next = side - 2) out.emplace_back(at, std::min(next, length - at));
  return out;
}

}  // namespace

CanvasTiles::CanvasTiles() = default;
CanvasTiles::~CanvasTiles() = default;

void CanvasTiles::invalidate(const QImage& image, QRect area) {
  if (image.size() != size_) {  // a new grid at the next upload, every tile sent
    size_ = image.size();
    resized_ = true;
    return;
  }
  area &= QRect(QPoint(0, 0), size_);
  if (area.isEmpty()) return;
  for (Tile& tile : tiles_)
    if (const QRect part = area & tile.texels; !part.isEmpty()) tile.dirty |= part;
}

void CanvasTiles::clear() {
  tiles_.clear();
  size_ = QSize();
  resized_ = false;
}

bool CanvasTiles::upload(const QImage& image) {
  if (resized_) {
    resized_ = false;
    tiles_.clear();
    if (image.isNull()) return true;
    GLint most = 0;
    QOpenGLContext::currentContext()->functions()->glGetIntegerv(GL_MAX_TEXTURE_SIZE, &most);
    side_ = kSide;
    while (side_ > 64 && side_ > most) side_ /= 2;
    // Each tile's texture holds a pixel of its neighbours on every side, so that linear filtering
    // across a tile's edge blends the same pixels as inside it (no seam at 800 %); the first row and
    // column, with no neighbour before them, draw one pixel more. Every texture but the last of a
    // row or column is then exactly side_ wide and high.
    for (const auto& [y, h] : spans(size_.height(), side_))
      for (const auto& [x, w] : spans(size_.width(), side_)) {
        Tile tile;
        tile.rect = QRect(x, y, w, h);
        tile.texels = tile.rect.adjusted(-1, -1, 1, 1) & QRect(QPoint(0, 0), size_);
        tile.dirty = tile.texels;
        tiles_.push_back(std::move(tile));
      }
  }
  qint64 sent = 0;
  const struct Count {  // a frame that sends nothing keeps the last count
    qint64& sent;
    qint64& last;
    ~Count() {
      if (sent > 0) last = sent;
    }
  } count{sent, last_upload_pixels_};
  Q_ASSERT(image.format() == QImage::Format_RGBA8888 && image.size() == size_);
  for (Tile& tile : tiles_) {
    if (tile.dirty.isEmpty()) continue;
    if (!tile.texture) {
      // A power of two on each side: each mipmap level is then the mean of 2 × 2 pixels of the
      // one above. Mesa makes a 1025-pixel level by sampling it at drifting positions, and fine
      // stripes came out as slow waves of black and white.
      auto texture = std::make_unique<QOpenGLTexture>(QOpenGLTexture::Target2D);
      texture->setFormat(QOpenGLTexture::RGBA8_UNorm);
      texture->setSize(power_of_two_at_least(tile.texels.width()), power_of_two_at_least(tile.texels.height()));
      texture->setMipLevels(texture->maximumMipLevels());
      texture->allocateStorage(QOpenGLTexture::RGBA, QOpenGLTexture::UInt8);
      if (!texture->isStorageAllocated()) return false;
      texture->setMinificationFilter(QOpenGLTexture::LinearMipMapLinear);
      texture->setMagnificationFilter(QOpenGLTexture::Linear);
      texture->setWrapMode(QOpenGLTexture::ClampToEdge);
      tile.texture = std::move(texture);
      tile.dirty = tile.texels;
    }
    sent += send(tile, image);
    tile.texture->generateMipMaps();
    tile.dirty = QRect();
  }
  return true;
}

qint64 CanvasTiles::send(const Tile& tile, const QImage& image) {
  const QRect d = tile.dirty;
  const QPoint at = d.topLeft() - tile.texels.topLeft();
  // The texture's room beyond the tile's pixels repeats its last column and row: its smaller
  // levels then average the photo's edge with itself, not with whatever the card left there.
  const int right = d.right() == tile.texels.right() ? tile.texture->width() - tile.texels.width() : 0;
  const int below = d.bottom() == tile.texels.bottom() ? tile.texture->height() - tile.texels.height() : 0;
  QOpenGLPixelTransferOptions rows;
  rows.setAlignment(4);
  if (right == 0 && below == 0) {
    rows.setRowLength(int(image.bytesPerLine() / 4));
    tile.texture->setData(at.x(), at.y(), 0, d.width(), d.height(), 1, QOpenGLTexture::RGBA, QOpenGLTexture::UInt8,
                          image.constScanLine(d.top()) + 4 * d.left(), &rows);
    return qint64(d.width()) * d.height();
  }
  QImage block(d.width() + right, d.height() + below, QImage::Format_RGBA8888);
  for (int y = 0; y < block.height(); ++y) {
    const auto* from = reinterpret_cast<const quint32*>(image.constScanLine(d.top() + std::min(y, d.height() - 1))) + d.left();
    auto* to = reinterpret_cast<quint32*>(block.scanLine(y));
    std::copy(from, from + d.width(), to);
    std::fill(to + d.width(), to + block.width(), from[d.width() - 1]);
  }
  rows.setRowLength(int(block.bytesPerLine() / 4));
  tile.texture->setData(at.x(), at.y(), 0, block.width(), block.height(), 1, QOpenGLTexture::RGBA, QOpenGLTexture::UInt8,
                        block.constBits(), &rows);
  return qint64(block.width()) * block.height();
}

void CanvasTiles::draw(ImDrawList* list, QRectF target, QSize image_size) const {
  if (image_size.isEmpty() || image_size != size_) return;
  const double sx = target.width() / image_size.width(), sy = target.height() / image_size.height();
  for (const Tile& tile : tiles_) {
    if (!tile.texture) continue;
    const QRect& r = tile.rect;
    const QRect& t = tile.texels;
    const ImVec2 a(float(target.left() + r.left() * sx), float(target.top() + r.top() * sy));
    const ImVec2 b(float(target.left() + (r.right() + 1) * sx), float(target.top() + (r.bottom() + 1) * sy));
    const float w = float(tile.texture->width()), h = float(tile.texture->height());
    const ImVec2 uv0(float(r.left() - t.left()) / w, float(r.top() - t.top()) / h);
    const ImVec2 uv1(float(r.right() + 1 - t.left()) / w, float(r.bottom() + 1 - t.top()) / h);
    list->AddImage(reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(tile.texture->textureId())), a, b, uv0, uv1);
  }
}

}  // namespace cm::ui
