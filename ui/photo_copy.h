// The photo in one format, made once and kept in step with the photo's changes part by part, for
// a preview to borrow and paint over (EditController). A preview that is the photo with a part
// changed then costs that part, not a copy of the whole photo: a 50 MP photo is 195 MB in the
// canvas's RGBA8888 and 390 MB in the document's RGBA64, and copying it took each result of a
// dab on it 0.4 s.
#pragma once

#include "ui/made_ahead.h"

#include <QImage>
#include <QRect>

namespace cm::ui {

class PhotoCopy {
 public:
  explicit PhotoCopy(QImage::Format format) : format_(format) {}

  // Starts making the copy of `photo` on another thread, for the first lend to take (MadeAhead).
  void prepare(const QImage& photo);
  // The copy of `photo`, taken out (made now when it is not here or is of another photo, or taken
  // from prepare): the borrower paints over it and gives it back. While it is out, the next lend
  // makes a new one.
  QImage lend(const QImage& photo);
  // `buffer` back, painted over only inside `area`: there it becomes the photo's again. When the
  // photo is no longer the one it was lent for (nor followed since), it is dropped; when `area`
  // is most of it, a new copy is prepared instead.
  void give_back(QImage buffer, QRect area, const QImage& photo);
  // The photo changed inside `area`; `before` is its cacheKey() before the change. The copy
  // follows there when it was in step.
  void follow(qint64 before, QRect area, const QImage& photo);
  void clear() {
    copy_ = QImage(), key_ = 0;
    ahead_.forget();
  }

 private:
  void write(QImage& buffer, QRect area, const QImage& photo) const;

  QImage::Format format_;
  QImage copy_;
  qint64 key_ = 0;  // the photo's cacheKey() the copy (lent or here) shows
  MadeAhead<QImage> ahead_;
};

}  // namespace cm::ui
