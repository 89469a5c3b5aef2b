// The edit controller's state, shared by its two .cpp files: edit_controller.cpp (the document's
// changes, the model, Apply and Discard) and edit_controller_jobs.cpp (the requests it sends the
// engine, and the previews, windows and variations that come back). Internal: it includes torch,
// which no widget header may (docs/ARCHITECTURE.md).
#pragma once

#include "core/engine/engine.h"
#include "ui/document.h"
#include "ui/edit_controller.h"
#include "ui/edit_inputs.h"
#include "ui/image_rows.h"
#include "ui/photo_copy.h"

#include <QElapsedTimer>
#include <QImage>
#include <QRect>
#include <QTimer>
#include <QVector>

#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace cm::ui {

struct EditController::Impl {
  Document* document;
  std::unique_ptr<engine::Engine> engine;
  QString model_path;
  PhotoTensor photo_tensor;
  bool model_ready = false;
  int model_size = 0;  // the loaded model's image side (colour hints are thinned to it)
  EditParameters parameters;
  bool live = false;
  QTimer refine_timer;
  QTimer change_request;  // the preview a change of the inputs asks for, when the change is whole
  QImage preview;
  QImage preview_canvas;          // a whole result in RGBA8888, made by the worker ...
  qint64 preview_canvas_of = 0;   // ... of the image with this cacheKey()
  QRect preview_area;  // where the preview may differ from the photo (image pixels)
  QRect shown_change;  // where preview(), or the photo without one, changed since takePreviewChange
  quint64 preview_revision = 0;
  int preview_steps = 0;  // evaluations behind the preview shown
  bool preview_refined = false;  // Steps evaluations (a refinement, a variation), not the live draft
  bool apply_pending = false;    // Apply waits for the refined preview
  bool applying = false;         // inside applyPreview: its own changes ask for no new preview
  std::uint64_t refine_job = 0;  // the refinement on its way (0: none), of requested_revision
  std::uint64_t draft_job = 0;   // the live draft on its way (0: none), of requested_revision
  quint64 requested_revision = 0;  // the document revision of the latest preview request
  bool refine_after_draft = false;  // the refine delay passed while that draft was on its way
  QElapsedTimer change_clock;    // since the change whose preview the user waits for
  bool preview_complete = true;  // false while an edit along a mask is still adding windows to it
  std::uint64_t partial_job = 0;  // the job whose windows the preview shows so far
  std::uint64_t dropped_job = 0;  // a job whose preview was discarded: its late windows stay away
  QTimer partial_redraw;          // coalesces a burst of windows into one redraw of the canvas
  QPointF brush{-1, -1};
  std::function<QPointF()> view_centre;
  // The photo in the canvas's format, where a partial preview starts (a 50 MP conversion is half
  // a second; a shared copy's first window copied all 195 MB), and in the document's, where the
  // result of an edit along a mask is painted (its own copy of the photo took each result of a dab
  // on 50 MP 0.4 s and 390 MB). Each is borrowed and given back with the preview's pixels made the
  // photo's again (PhotoCopy).
  PhotoCopy photo_8888{QImage::Format_RGBA8888};
  PhotoCopy photo_64{QImage::Format_RGBA64};
  qint64 photo_key_seen = 0;  // the photo's cacheKey() after the last change the copies followed
  PhotoCopy* preview_borrows = nullptr;  // the copy `preview` is, painted over in preview_area
  std::uint64_t latest_job = 0;
  std::uint64_t latest_variations_job = 0;
  // The threads that wait for a model load and report it (loadModel). Joined by the destructor,
  // after the engine has gone (which settles every load): a detached one could still be asking
  // for this controller while it, or the application, was being destroyed.
  std::vector<std::thread> load_waiters;
  QVector<QImage> variations;
  QVector<quint64> variation_seeds;
  QVector<QRect> variation_areas;  // where each differs from the photo
  std::optional<QPoint> variation_origin;  // where variations' parts lie in the photo; none: whole pictures
  quint64 variations_revision = 0;
  int variation_steps = 0;
  int running = 0;
  double last_latency_ms = 0;
  std::vector<double> last_sigmas;  // of the last result that was the latest request's
  // The preview becomes `image`, which differs from the photo only inside `area`; a null image
  // clears it. Either way the picture changed where the old or the new preview differs from the photo.
  void set_preview(const QImage& image, QRect area) {
    if (!preview.isNull()) shown_change |= preview_area;
    if (preview_borrows) give_back();
    shown_change |= area;
    preview = image;
    preview_area = image.isNull() ? QRect() : area;
  }
  // The preview becomes `copy` of the photo, borrowed, with `part` painted at `at`: it differs
  // from the photo inside `area`.
  void set_preview_over(PhotoCopy& copy, const QImage& part, QPoint at, QRect area) {
    set_preview(QImage(), QRect());  // gives back what the preview borrowed: it may be this copy
    QImage buffer = copy.lend(document->photo());
    photo_key_seen = document->photo().cacheKey();
    if (!part.isNull()) copy_block(part.convertToFormat(buffer.format()), QPoint(0, 0), buffer, QRect(at, part.size()) & buffer.rect());
    set_preview(buffer, area);
    preview_borrows = &copy;
  }
  // The preview was a borrowed copy: it goes back, its painted pixels made the photo's again.
  void give_back() {
    PhotoCopy* copy = std::exchange(preview_borrows, nullptr);
    copy->give_back(std::exchange(preview, QImage()), preview_area, document->photo());
  }
  // The photo changed in `area`: the copies follow there.
  void photo_changed(qint64 key_before, QRect area) {
    photo_8888.follow(key_before, area, document->photo());
    photo_64.follow(key_before, area, document->photo());
  }
};

}  // namespace cm::ui
