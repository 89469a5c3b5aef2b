#include "ui/autosave_photo.h"

#include <QJsonObject>
#include <QJsonValue>

namespace cm::ui {

void AutosavedPhoto::reset(Base base) {
  base_ = base;
  parts_ = QJsonArray();
  part_pixels_ = 0;
  dirty_ = QRect();
}

void AutosavedPhoto::changed(QRect area) { dirty_ |= area; }

void AutosavedPhoto::forget() { reset(Base::None); }

AutosavedPhoto::Plan AutosavedPhoto::take(QSize size, bool is_file) {
  Plan plan;
  if (is_file) {  // the file holds it: nothing of the photo is written, and what was goes
    reset(Base::File);
    plan.kind = Plan::Kind::File;
    return plan;
  }
  const QRect part = dirty_ & QRect(QPoint(0, 0), size);
  const qint64 pixels = qint64(part.width()) * part.height();
  if (base_ != Base::None && part.isEmpty()) return plan;  // what is written holds it
  if (base_ != Base::None && 4 * (part_pixels_ + pixels) <= qint64(size.width()) * size.height()) {
    plan.kind = Plan::Kind::Part;
    plan.part = part;
    plan.file = QStringLiteral("photo-part-%1.png").arg(parts_.size());
    parts_.append(QJsonObject{{QStringLiteral("file"), plan.file},
                              {QStringLiteral("x"), part.x()},
                              {QStringLiteral("y"), part.y()},
                              {QStringLiteral("width"), part.width()},
                              {QStringLiteral("height"), part.height()}});
    part_pixels_ += pixels;
    dirty_ = QRect();
    return plan;
  }
  reset(Base::Png);
  plan.kind = Plan::Kind::Whole;
  return plan;
}

void AutosavedPhoto::restored(Base base, const QJsonArray& parts) {
  reset(base);
  parts_ = parts;
  for (const QJsonValue& p : parts_)
    part_pixels_ += qint64(p[QStringLiteral("width")].toInt()) * p[QStringLiteral("height")].toInt();
}

}  // namespace cm::ui
