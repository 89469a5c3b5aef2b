// A value made from a photo on another thread before it is first needed, for one version of the
// photo (its cacheKey()): the copies of a photo that an edit's first result needs are made while the
// user is still looking at the photo, not on the UI thread when the first dab comes back (on a
// 50 MP photo 0.25 s for the canvas's RGBA8888 copy, 0.44 s for the RGBA64 one and 0.38 s for
// the photo's tensor, one after another).
#pragma once

#include <QImage>

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <optional>
#include <utility>
#include <vector>

namespace cm::ui {

template <typename T>
class MadeAhead {
 public:
  MadeAhead() = default;
  MadeAhead(const MadeAhead&) = delete;
  MadeAhead& operator=(const MadeAhead&) = delete;
  // Waits for what is still being made: it reads a photo that the owner may free after this.
  ~MadeAhead() {
    forget();
    dropped_.clear();  // waits for each
  }

  // Starts making make(photo) for this version of the photo; one made for another is forgotten.
  // The thread lets go of its copy of the photo once it is done: held on, it would share the
  // document's pixels, and the next change of the photo would copy all of them first.
  void start(const QImage& photo, std::function<T(const QImage&)> make) {
    forget();
    key_ = photo.cacheKey();
    making_ = std::async(std::launch::async, [photo = QImage(photo), make = std::move(make)]() mutable {
      const QImage source = std::exchange(photo, QImage());
      return make(source);
    });
  }

  // The value made for the photo's version `key`, waiting for it while it is still being made;
  // nullopt when none was started for that version, or making it failed (out of memory): the
  // caller makes it as before, where a failure reaches the user.
  std::optional<T> take(qint64 key) {
    if (!making_.valid() || key_ != key) return std::nullopt;
    std::future<T> made = std::move(making_);
    try {
      return made.get();
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  // Forgets what is being made, without waiting for it: a future of std::async waits for its work
  // when it is destroyed, so a forgotten one is kept until it is done (the destructor waits).
  void forget() {
    if (making_.valid()) dropped_.push_back(std::move(making_));
    const auto done = [](std::future<T>& f) { return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready; };
    dropped_.erase(std::remove_if(dropped_.begin(), dropped_.end(), done), dropped_.end());
  }

 private:
  qint64 key_ = 0;
  std::future<T> making_;
  std::vector<std::future<T>> dropped_;
};

}  // namespace cm::ui
