// What the autosave keeps of the photo, and what it writes of it next. The photo is a base (the
// opened file while it is the same, or photo.png) and the parts written over it since, in order.
// An Apply on a 50 MP photo changes a box of it: written as that box (a fraction of a second), not
// as the whole photo's 16-bit PNG (13-19 s of a core beside the next edit's preview). Only once
// the parts add up to a quarter of the photo is it written whole again, and they go.
#pragma once

#include <QJsonArray>
#include <QRect>
#include <QSize>
#include <QString>

namespace cm::ui {

class AutosavedPhoto {
 public:
  enum class Base { None, File, Png };  // None: nothing written that holds the photo
  // What the next autosave writes of the photo.
  struct Plan {
    enum class Kind { Nothing, File, Part, Whole } kind = Kind::Nothing;
    QRect part;    // Part: the photo's pixels there ...
    QString file;  // ... go to this file, over the base and the parts before
  };

  // A new photo: its file's pixels (File) or pixels no file holds (None).
  void reset(Base base);
  // The photo changed inside `area`.
  void changed(QRect area);
  // What to write for a photo of `size`; `is_file` says its pixels are the opened file's (then
  // nothing of it is written, and the parts go). Taken: the autosave's state is the plan's from
  // now on (a write that fails calls forget()).
  Plan take(QSize size, bool is_file);
  // A write failed or the folder was emptied: the next one writes the photo whole (or names the file).
  void forget();

  Base base() const { return base_; }
  // The parts written since the base: [{"file", "x", "y", "width", "height"}], in the order to lay them.
  const QJsonArray& parts() const { return parts_; }
  // The state an autosave read back has: `base` and its `parts`.
  void restored(Base base, const QJsonArray& parts);

 private:
  Base base_ = Base::None;
  QJsonArray parts_;
  qint64 part_pixels_ = 0;  // the parts' pixels, all together
  QRect dirty_;             // where the photo changed since what the autosave holds
};

}  // namespace cm::ui
