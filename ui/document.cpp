#include "ui/document.h"

#include "ui/image_rows.h"

#include <cstdlib>

#include <QPainter>
#include <QRadialGradient>
#include <QUndoCommand>
#include <QUndoStack>

#include <algorithm>
#include <cmath>
#include <new>

namespace cm::ui {
namespace {

// An empty layer (all zero: no mask, transparent paint) whose memory the system provides only
// where it is painted: calloc of a large block maps zero pages without touching them. Three
// filled layers of a 50 MP photo were 440 MB before a stroke, and most photos get one layer's.
QImage blank_layer(QSize size, QImage::Format format) {
  const qsizetype line = (qsizetype(size.width()) * QImage::toPixelFormat(format).bitsPerPixel() / 8 + 3) / 4 * 4;
  void* pixels = std::calloc(std::size_t(line) * std::size_t(size.height()), 1);
  if (!pixels) throw std::bad_alloc();
  return QImage(static_cast<uchar*>(pixels), size.width(), size.height(), line, format, [](void* p) { std::free(p); }, pixels);
}

// Whether every pixel of an RGBA64 photo inside `area` is grey: red, green and blue within 1/255
// of their mean (a grey photo saved as RGB, with JPEG's slight chroma noise).
bool is_grey(const QImage& photo, QRect area) {
  constexpr int kTolerance = 257;  // 1/255 of the range, in 16-bit units
  for (int y = area.top(); y <= area.bottom(); ++y) {
    const QRgba64* row = reinterpret_cast<const QRgba64*>(photo.constScanLine(y));
    for (int x = area.left(); x <= area.right(); ++x) {
      const int r = row[x].red(), g = row[x].green(), b = row[x].blue(), mean = (r + g + b) / 3;
      if (std::abs(r - mean) > kTolerance || std::abs(g - mean) > kTolerance || std::abs(b - mean) > kTolerance) return false;
    }
  }
  return true;
}

bool is_opaque(const QImage& photo, QRect area) {
  for (int y = area.top(); y <= area.bottom(); ++y) {
    const QRgba64* row = reinterpret_cast<const QRgba64*>(photo.constScanLine(y));
    for (int x = area.left(); x <= area.right(); ++x)
      if (!row[x].isOpaque()) return false;
  }
  return true;
}

// One change of one layer: the pixels of `area` before and after. Undo and redo copy them back.
class LayerChange final : public QUndoCommand {
 public:
  LayerChange(Document* doc, Layer layer, QRect area, QImage before, QImage after, const QString& text, quint64 version_before,
              quint64 version_after)
      : QUndoCommand(text), doc_(doc), layer_(layer), at_(area.topLeft()), before_(std::move(before)), after_(std::move(after)),
        version_before_(version_before), version_after_(version_after) {}
  void undo() override { put(before_, version_before_); }
  void redo() override { put(after_, version_after_); }

 private:
  void put(const QImage& pixels, quint64 version) {
    if (layer_ == Layer::Photo) doc_->setPhotoVersion(version);
    doc_->writePixels(layer_, pixels, at_);
  }
  Document* doc_;
  Layer layer_;
  QPoint at_;
  QImage before_, after_;
  quint64 version_before_, version_after_;  // the photo's (Document::photoVersion)
};

// A change of size: every layer before and after.
class Resize final : public QUndoCommand {
 public:
  Resize(Document* doc, Document::Layers before, Document::Layers after, const QString& text)
      : QUndoCommand(text), doc_(doc), before_(std::move(before)), after_(std::move(after)) {}
  void undo() override { doc_->setLayers(before_); }
  void redo() override { doc_->setLayers(after_); }

 private:
  Document* doc_;
  Document::Layers before_, after_;
};

QString layerName(Layer layer) {
  switch (layer) {
    case Layer::Photo: return QObject::tr("photo");
    case Layer::Mask: return QObject::tr("mask");
    case Layer::Strokes: return QObject::tr("sketch");
    case Layer::Hints: return QObject::tr("colour hints");
  }
  return {};
}

// Paints the dabs into `image`, whose top-left pixel is `origin` in the document.
void paint_dabs(QImage& image, QPoint origin, Layer layer, const QVector<QPointF>& dabs, const Brush& brush) {
  const double radius = brush.diameter / 2;
  const QColor color = layer == Layer::Mask ? QColor(brush.erase ? Qt::black : Qt::white) : brush.color;
  QColor edge = color;
  edge.setAlpha(0);
  QPainter painter(&image);
  painter.translate(-origin);
  painter.setRenderHint(QPainter::Antialiasing);
  painter.setPen(Qt::NoPen);
  if (brush.erase && layer != Layer::Mask) painter.setCompositionMode(QPainter::CompositionMode_DestinationOut);
  for (const QPointF& p : dabs) {
    QRadialGradient gradient(p, radius);
    gradient.setColorAt(0, color);
    gradient.setColorAt(std::clamp(brush.hardness, 0.0, 0.999), color);
    gradient.setColorAt(1, edge);
    painter.setBrush(gradient);
    painter.drawEllipse(p, radius, radius);
  }
}

}  // namespace

QVector<QPointF> dabs_along(const QVector<QPointF>& points, double radius) {
  if (points.isEmpty()) return {};
  QVector<QPointF> dabs{points.front()};
  for (int i = 1; i < points.size(); ++i) {
    const QPointF delta = points[i] - points[i - 1];
    const int n = std::max(1, int(std::ceil(std::hypot(delta.x(), delta.y()) / std::max(1.0, radius / 4))));
    for (int k = 1; k <= n; ++k) dabs.push_back(points[i - 1] + delta * (double(k) / n));
  }
  return dabs;
}

Document::Document(QObject* parent) : QObject(parent), undo_(new QUndoStack(this)) {}
Document::~Document() = default;

void Document::reset(const QImage& photo, int bit_depth, const QString& path) {
  photo_ = photo.convertToFormat(QImage::Format_RGBA64);
  original_ = photo_;  // shared: writePixels detaches photo_ from it
  edited_ = QRect();
  mask_ = blank_layer(photo.size(), QImage::Format_Grayscale8);
  strokes_ = blank_layer(photo.size(), QImage::Format_ARGB32_Premultiplied);
  hints_ = blank_layer(photo.size(), QImage::Format_ARGB32_Premultiplied);
  for (QRect& r : ink_) r = QRect();
  bit_depth_ = bit_depth;
  path_ = path;
  const bool was_modified = photoModified();
  photo_version_ = saved_version_ = opened_version_ = ++last_version_;  // a new photo, as on disk
  if (was_modified) Q_EMIT photoModifiedChanged(false);
  undo_->clear();
  ++revision_;
  Q_EMIT documentReset();
}

bool Document::photoIsGrey() const {
  if (grey_key_ != photo_.cacheKey()) {
    grey_ = !photo_.isNull() && is_grey(photo_, photo_.rect());
    grey_key_ = photo_.cacheKey();
  }
  return grey_;
}

bool Document::photoIsOpaque() const {
  if (opaque_key_ != photo_.cacheKey()) {
    opaque_ = is_opaque(photo_, photo_.rect());
    opaque_key_ = photo_.cacheKey();
  }
  return opaque_;
}

const QImage& Document::layer(Layer which) const {
  switch (which) {
    case Layer::Photo: return photo_;
    case Layer::Mask: return mask_;
    case Layer::Strokes: return strokes_;
    case Layer::Hints: return hints_;
  }
  return photo_;
}

QImage& Document::mutableLayer(Layer which) { return const_cast<QImage&>(layer(which)); }

namespace {

// Index into Document::ink_, −1 for the photo.
int ink_index(Layer layer) { return layer == Layer::Mask ? 0 : layer == Layer::Strokes ? 1 : layer == Layer::Hints ? 2 : -1; }

// The bounding rectangle of the non-zero bytes of an 8- or 32-bit layer (the mask's grey, the
// premultiplied layers' whole pixel), empty when there are none.
QRect ink_of(const QImage& image) {
  QRect ink;
  const int bytes = image.depth() / 8;
  for (int y = 0; y < image.height(); ++y) {
    const uchar* row = image.constScanLine(y);
    int first = -1, last = -1;
    for (int x = 0; x < image.width() * bytes; ++x)
      if (row[x]) {
        if (first < 0) first = x;
        last = x;
      }
    if (first >= 0) ink |= QRect(first / bytes, y, last / bytes - first / bytes + 1, 1);
  }
  return ink;
}

}  // namespace

QRect Document::inkRect(Layer which) const {
  const int i = ink_index(which);
  return i < 0 ? QRect(QPoint(0, 0), size()) : ink_[i];
}

void Document::writePixels(Layer layer, const QImage& pixels, QPoint at) {
  QImage& target = mutableLayer(layer);
  // What is known of the photo stays known where the write keeps it so: an opaque (or grey) photo
  // with an opaque (grey) part written is still one, read in that part only, not in all 50 MP.
  const bool knew_grey = layer == Layer::Photo && grey_key_ == photo_.cacheKey() && grey_;
  const bool knew_opaque = layer == Layer::Photo && opaque_key_ == photo_.cacheKey() && opaque_;
  const QImage source = pixels.format() == target.format() ? pixels : pixels.convertToFormat(target.format());
  // Row copies, not QPainter: undo must restore the exact bits, 16-bit photos included.
  const QRect area = QRect(at, source.size()) & target.rect();
  copy_block(source, area.topLeft() - at, target, area);
  if (const int i = ink_index(layer); i >= 0) {
    // Paint grows the ink; a write over all of it (a clear, an undo of the first stroke) is
    // looked at again.
    ink_[i] = area.contains(ink_[i]) ? ink_of(target.copy(area)).translated(area.topLeft()) : ink_[i] | area;
  }
  if (layer == Layer::Photo) edited_ |= area;
  if (knew_grey && is_grey(photo_, area)) grey_key_ = photo_.cacheKey();
  if (knew_opaque && is_opaque(photo_, area)) opaque_key_ = photo_.cacheKey();
  ++revision_;
  Q_EMIT changed(layer, QRect(at, pixels.size()));
}

void Document::pushChange(Layer layer, const QImage& after, QRect area, const QString& text) {
  if (area.isEmpty()) return;
  const quint64 version_after = layer == Layer::Photo ? ++last_version_ : photo_version_;
  undo_->push(new LayerChange(this, layer, area, this->layer(layer).copy(area), after, text, photo_version_, version_after));
}

void Document::setPhotoVersion(quint64 version) {
  const bool was = photoModified();
  photo_version_ = version;
  if (photoModified() != was) Q_EMIT photoModifiedChanged(photoModified());
}

bool Document::markPhotoSaved(quint64 version) {
  if (version < opened_version_) return false;
  const bool was = photoModified();
  saved_version_ = version;
  if (photoModified() != was) Q_EMIT photoModifiedChanged(photoModified());
  return true;
}

void Document::markPhotoUnsaved() {
  const bool was = photoModified();
  saved_version_ = 0;  // no version of the photo has number 0
  if (!was) Q_EMIT photoModifiedChanged(true);
}

namespace {

// The pixels the dabs of a brush of `radius` cover, and one more around, within `bounds`.
QRect dabs_area(const QVector<QPointF>& dabs, double radius, const QRect& bounds) {
  QRectF touched;
  for (const QPointF& p : dabs) touched |= QRectF(p.x() - radius, p.y() - radius, 2 * radius, 2 * radius);
  return touched.toAlignedRect().adjusted(-1, -1, 1, 1) & bounds;
}

}  // namespace

void Document::paintStroke(Layer layer, const QVector<QPointF>& points, const Brush& brush) {
  if (isEmpty() || points.isEmpty() || layer == Layer::Photo || brush.diameter <= 0) return;
  const double radius = brush.diameter / 2;
  const QVector<QPointF> dabs = dabs_along(points, radius);
  const QRect area = dabs_area(dabs, radius, QRect(QPoint(0, 0), size()));
  if (area.isEmpty()) return;

  QImage after = this->layer(layer).copy(area);  // only the touched pixels are copied and kept for undo
  paint_dabs(after, area.topLeft(), layer, dabs, brush);
  pushChange(layer, after, area, brush.erase ? tr("Erase %1").arg(layerName(layer)) : tr("Paint %1").arg(layerName(layer)));
}

QImage Document::withStroke(Layer layer, const QVector<QPointF>& points, const Brush& brush, QRect* ink_out) const {
  if (isEmpty() || layer == Layer::Photo) return QImage();
  // The painted part copied into a blank layer, not the whole layer: a sketch layer of 50 MP is
  // 195 MB to copy, every 120 ms while the brush is down.
  const QImage& current = this->layer(layer);
  QImage image = blank_layer(current.size(), current.format());
  const QRect ink = inkRect(layer) & current.rect();
  copy_block(current, ink.topLeft(), image, ink);
  if (ink_out) *ink_out = ink;
  if (!points.isEmpty() && brush.diameter > 0) {
    const QVector<QPointF> dabs = dabs_along(points, brush.diameter / 2);
    paint_dabs(image, QPoint(0, 0), layer, dabs, brush);
    if (ink_out) *ink_out |= dabs_area(dabs, brush.diameter / 2, image.rect());
  }
  return image;
}

void Document::clearLayer(Layer layer) {
  if (isEmpty() || layer == Layer::Photo) return;
  // Only the painted part: its undo step keeps that, not the whole layer (a sketch layer of 50 MP
  // is 195 MB), and the canvas redraws that. Nothing painted, nothing to undo.
  const QRect area = inkRect(layer);
  if (area.isEmpty()) return;
  QImage after(area.size(), this->layer(layer).format());
  after.fill(layer == Layer::Mask ? QColor(Qt::black) : QColor(Qt::transparent));
  pushChange(layer, after, area, tr("Clear %1").arg(layerName(layer)));
}

void Document::invertMask() {
  if (isEmpty()) return;
  QImage after = mask_.copy();
  after.invertPixels();
  pushChange(Layer::Mask, after, QRect(QPoint(0, 0), size()), tr("Invert mask"));
}

void Document::setLayers(const Layers& layers) {
  setPhotoVersion(layers.photo_version);
  photo_ = layers.photo;
  edited_ = photo_.rect();  // another size (a super-resolution, its undo): compared whole
  mask_ = layers.mask;
  strokes_ = layers.strokes;
  hints_ = layers.hints;
  for (Layer l : {Layer::Mask, Layer::Strokes, Layer::Hints}) ink_[ink_index(l)] = ink_of(layer(l));
  ++revision_;
  Q_EMIT documentReset();
}

void Document::replaceWithResized(const QImage& result, const QString& description) {
  if (isEmpty() || result.isNull()) return;
  Layers after{result.convertToFormat(QImage::Format_RGBA64), blank_layer(result.size(), QImage::Format_Grayscale8),
               blank_layer(result.size(), QImage::Format_ARGB32_Premultiplied),
               blank_layer(result.size(), QImage::Format_ARGB32_Premultiplied), ++last_version_};
  undo_->push(new Resize(this, Layers{photo_, mask_, strokes_, hints_, photo_version_}, after, description));
}

void Document::replacePhoto(const QImage& result, const QString& description, std::optional<QRect> within) {
  if (isEmpty() || result.size() != size()) return;
  const QRect where = within ? *within & photo_.rect() : photo_.rect();
  if (where.isEmpty()) return;
  const QImage after = result.convertToFormat(QImage::Format_RGBA64);
  const QRect area = differing_rect(photo_, after, where);
  pushChange(Layer::Photo, area == photo_.rect() ? after : after.copy(area), area, description);
}

void Document::replacePhotoPart(const QImage& part, QPoint at, const QString& description) {
  const QRect placed = QRect(at, part.size()) & photo_.rect();
  if (isEmpty() || placed.isEmpty()) return;
  const QImage after = part.convertToFormat(QImage::Format_RGBA64).copy(placed.translated(-at));
  const QRect area = differing_rect(after, photo_.copy(placed));
  if (!area.isEmpty()) pushChange(Layer::Photo, after.copy(area), area.translated(placed.topLeft()), description);
}

}  // namespace cm::ui
