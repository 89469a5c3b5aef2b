#include "ui/photo_copy.h"

#include "ui/image_rows.h"

#include <utility>

namespace cm::ui {

namespace {

QImage own_copy(const QImage& photo, QImage::Format format) {
  QImage copy = photo.convertToFormat(format);
  // A photo already in this format converts to a shallow copy: detached here, once, so that the
  // borrower's first stroke does not copy all of it.
  if (copy.constBits() == photo.constBits()) copy.detach();
  return copy;
}

}  // namespace

void PhotoCopy::prepare(const QImage& photo) {
  if (!copy_.isNull() && key_ == photo.cacheKey()) return;
  ahead_.start(photo, [format = format_](const QImage& p) { return own_copy(p, format); });
}

QImage PhotoCopy::lend(const QImage& photo) {
  if (copy_.isNull() || key_ != photo.cacheKey()) {
    std::optional<QImage> made = ahead_.take(photo.cacheKey());
    copy_ = made ? std::move(*made) : own_copy(photo, format_);
    key_ = photo.cacheKey();
  }
  return std::exchange(copy_, QImage());
}

void PhotoCopy::give_back(QImage buffer, QRect area, const QImage& photo) {
  if (key_ != photo.cacheKey() || buffer.size() != photo.size() || buffer.format() != format_) return;
  // Painted over in most of it (a colorization's preview), it would cost a whole copy to write
  // back, on this thread (0.8 s on 50 MP): a new one is made on another instead.
  area &= buffer.rect();
  if (4 * qint64(area.width()) * area.height() > qint64(buffer.width()) * buffer.height()) return prepare(photo);
  write(buffer, area, photo);
  copy_ = std::move(buffer);
}

void PhotoCopy::follow(qint64 before, QRect area, const QImage& photo) {
  if (copy_.isNull() || key_ != before || copy_.size() != photo.size()) return;
  write(copy_, area, photo);
  key_ = photo.cacheKey();
}

void PhotoCopy::write(QImage& buffer, QRect area, const QImage& photo) const {
  area &= buffer.rect();
  if (area.isEmpty()) return;
  if (photo.format() == format_) copy_block(photo, area.topLeft(), buffer, area);
  else copy_block(photo.copy(area).convertToFormat(format_), QPoint(0, 0), buffer, area);
}

}  // namespace cm::ui
