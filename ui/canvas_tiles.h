// The canvas's picture on the graphics card, in square tiles: a 50-megapixel photo is one 195 MB
// texture otherwise, uploaded whole for every stroke and every window of a preview (0.2 s each on
// Mesa, after a 0.2-0.4 s recompose), and wider than some cards' largest texture (8,192 or 16,384
// px). Each tile keeps mipmaps, so a photo shown at 16 % averages its pixels instead of sampling
// one in six (a noisy sky looked twice as grainy as it is). Only the tiles an update touches are
// sent again. Must be used with the canvas's GL context current.
#pragma once

#include <QImage>
#include <QRect>
#include <QRectF>

#include <memory>
#include <vector>

class QOpenGLTexture;
struct ImDrawList;

namespace cm::ui {

class CanvasTiles {
 public:
  CanvasTiles();
  ~CanvasTiles();
  CanvasTiles(const CanvasTiles&) = delete;
  CanvasTiles& operator=(const CanvasTiles&) = delete;

  // Textures of this side (a power of two; the card's own limit wins when it is smaller), each
  // drawing kSide − 2 pixels of the image (a pixel of each neighbour around them).
  static constexpr int kSide = 1024;

  // The image's pixels in `area` changed (all of them when its size did): the tiles over it are
  // sent again at the next upload. No GL call.
  void invalidate(const QImage& image, QRect area);
  // Sends what changed of `image` (Format_RGBA8888, the size last invalidated) to the card, with
  // the GL context current. False when the card refused a texture.
  bool upload(const QImage& image);
  // Draws the image into `target` (widget pixels).
  void draw(ImDrawList* list, QRectF target, QSize image_size) const;
  // Frees the textures (GL context current).
  void clear();

  int tileCount() const { return int(tiles_.size()); }
  // Pixels sent by the last upload that sent any (the debug overlay shows it).
  qint64 lastUploadPixels() const { return last_upload_pixels_; }

 private:
  struct Tile {
    QRect rect;    // the image pixels it draws
    QRect texels;  // the image pixels its texture holds: rect and a pixel around it
    QRect dirty;   // image pixels still to send
    std::unique_ptr<QOpenGLTexture> texture;
  };
  // Sends the tile's dirty pixels (and the texture's room past the image's edge); the pixels sent.
  static qint64 send(const Tile& tile, const QImage& image);

  std::vector<Tile> tiles_;
  QSize size_;
  bool resized_ = false;  // the grid is made again at the next upload (textures go with a GL context)
  int side_ = kSide;
  qint64 last_upload_pixels_ = 0;
};

}  // namespace cm::ui
