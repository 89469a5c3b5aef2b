// What an edit reads from the document, and what comes back into it: the request for the
// document as it is (its photo, mask, painting and hints, as the edit's registry entry declares
// them) and the result's images. For the controller's .cpp only (this header includes torch;
// widget headers must not include it).
#pragma once

#include "core/engine/edit_request.h"
#include "ui/edit_controller.h"
#include "ui/made_ahead.h"
#include "ui/tensor_image.h"

#include <ATen/core/Tensor.h>
#include <QImage>
#include <QVector>

#include <optional>
#include <utility>

namespace cm::ui {

class Document;

// A layer that stands in for the document's own while a stroke is under the brush.
struct LayerOverride {
  Layer layer;
  QImage image;
  QRect ink;  // where it may hold paint; null: anywhere
};

// Whether any layer the edit reads besides the photo holds something (the mask always; the
// strokes for an edit of the painting; the hints for one that takes colour hints).
bool has_inputs(const Document& doc, edit::EditKind kind);
// Clears those layers, inside an undo macro of the caller's: apply uses them up, Esc drops them.
void clear_inputs(Document& doc, edit::EditKind kind);
// The layer, or what stands in for it.
const QImage& layer_of(const Document& doc, Layer layer, const LayerOverride* over);
// Where that layer may hold paint: the document's inkRect, or the override's.
QRect ink_rect_of(const Document& doc, Layer layer, const LayerOverride* over);
// The photo with the sketch painted over it: what SDEdit starts from.
QImage painting_of(const Document& doc, const LayerOverride* over);

// The photo as a tensor (stored pixels: tensor_image.h), converted again only when the photo changed (QImage::cacheKey changes
// with every write): a brush stroke then costs no full-resolution conversion on the UI thread.
struct PhotoTensor {
  qint64 key = 0;
  at::Tensor tensor;
  MadeAhead<at::Tensor> ahead;
  // Starts converting `photo` on another thread, for `of` to take (MadeAhead).
  void prepare(const QImage& photo) { ahead.start(photo, [](const QImage& p) { return photo_tensor(p); }); }
  const at::Tensor& of(const QImage& photo);
  // The photo changed inside `area` (Document::changed): only that part is converted again, and
  // the rest kept (on 50 MP the whole conversion is 0.9 s on the UI thread, after every Apply
  // and undo of one). A tensor that a job still holds is copied first, never written under it.
  void update(const QImage& photo, QRect area);
  void clear() {  // a new photo or size
    tensor = at::Tensor(), key = 0;
    ahead.forget();
    painting = at::Tensor();
  }
  // The last painting made of the document's own strokes (painting_tensor), and the versions
  // (cacheKey) of the photo and the strokes it shows: a refinement after the draft asks for the
  // same. Like `tensor`, shared with the requests that read it and never written while they do;
  // once none does, the next painting is made in it where the strokes changed.
  at::Tensor painting;
  qint64 painting_photo = 0, painting_strokes = 0;
  QRect painting_ink;  // where its strokes may lie: elsewhere it is the photo's tensor
};

// The painting as a tensor, what painting_of would convert to: the photo's tensor (kept, so
// `photo_tensor`) with the strokes painted over it where they are. On a 50 MP photo painting_of
// and its conversion took every request of a sketch 1.2-1.5 s of the UI thread, and a stroke
// stood still under the brush meanwhile.
at::Tensor painting_tensor(const Document& doc, PhotoTensor& photo_tensor, const LayerOverride* over);

// The request for the document as it is now, and the image whose alpha the result keeps;
// nullopt when there is nothing to do yet (no photo, an inpaint without a mask, a sketch without
// strokes, a colour photo to colorize without hints). A sketch edits its strokes' neighbourhood
// only (the painted pixels grown by a few pixels, and the mask if one is painted). Colour hints go
// as sparse points, one per model pixel (model_size: the model's image side; 0: every painted
// pixel), each in the colour the hint has at the photo's own brightness there.
std::optional<std::pair<engine::EditRequest, QImage>> build_request(const Document& doc, const EditParameters& p, int steps,
                                                                     PhotoTensor& photo_tensor, int model_size = 0,
                                                                     const LayerOverride* over = nullptr);

// The result's images, keeping the source's alpha (enlarged by repetition for super-resolution).
QVector<QImage> result_images(const engine::EditResult& result, const QImage& source);
// The results (one, or a strip of variations) of an edit along a mask that are only the part
// `area` of the photo, the box of the
// windows it reported (region.h's on_window, RegionOptions::reported_box_only; nowhere else can it
// differ from its source), keeping the source's alpha there: a preview paints it over a copy of
// the photo (PhotoCopy); a result of the whole photo is read there. None when the job did not
// succeed, null images where nothing changed; cm::Error (Internal) for a result of another size.
QVector<QImage> result_parts(const engine::EditResult& result, const QImage& source, QRect area);

}  // namespace cm::ui
