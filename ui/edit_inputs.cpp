#include "ui/edit_inputs.h"

#include "core/base/error.h"
#include "core/edit/edits.h"
#include "core/edit/linear_operator.h"
#include "core/edit/pixels.h"
#include "core/engine/edit_registry.h"
#include "core/model/state_dict.h"
#include "ui/document.h"
#include "ui/tensor_image.h"

#include <ATen/ATen.h>
#include <QPainter>
#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace cm::ui {
namespace {

// The layers an edit reads besides the photo, as its registry entry declares them.
std::vector<Layer> input_layers(edit::EditKind kind) {
  const engine::EditSpec& spec = engine::spec_of(kind);
  std::vector<Layer> layers = {Layer::Mask};
  if (spec.painting) layers.push_back(Layer::Strokes);
  if (spec.hints) layers.push_back(Layer::Hints);
  return layers;
}

// Whether anything is painted on the layer: looked for only inside its ink rectangle (a 50 MP
// layer is 195 MB to read, every preview), which may hold erased paint, so it is read.
bool painted(const Document& doc, Layer layer) {
  const QImage& image = doc.layer(layer);
  const QRect ink = doc.inkRect(layer) & image.rect();
  const int bytes = image.depth() / 8;  // the mask's grey; a premultiplied pixel is 0 where transparent
  for (int y = ink.top(); y <= ink.bottom(); ++y) {
    const uchar* row = image.constScanLine(y) + ink.left() * bytes;
    if (std::any_of(row, row + ink.width() * bytes, [](uchar v) { return v != 0; })) return true;
  }
  return false;
}

// A sketch redraws its strokes' neighbourhood only: the painted pixels grown by this many pixels
// (the brush panel's Grow and Feather then reach beyond that), so the strokes blend into what
// surrounds them while every other pixel stays the photo's own.
constexpr int kSketchReach = 8;

// Where `strokes` holds paint (inside `ink`), grown by `reach` pixels: uint8 [1,1,H,W], 1 = edit.
at::Tensor strokes_region(const QImage& strokes, const QRect& ink, int reach) {
  at::Tensor region = at::zeros({1, 1, strokes.height(), strokes.width()}, at::kByte);
  const QRect area = ink.adjusted(-reach, -reach, reach, reach) & strokes.rect();
  if (area.isEmpty()) return region;
  const QImage part = strokes.copy(area).convertToFormat(QImage::Format_ARGB32_Premultiplied);
  at::Tensor painted = at::empty({1, 1, area.height(), area.width()}, at::kFloat);
  float* dst = painted.data_ptr<float>();
  for (int y = 0; y < part.height(); ++y) {
    const QRgb* row = reinterpret_cast<const QRgb*>(part.constScanLine(y));
    for (int x = 0; x < part.width(); ++x) *dst++ = qAlpha(row[x]) > 0 ? 1.0f : 0.0f;
  }
  // A square's max as a row's then a column's: a long stroke's 17 × 17 window took a sketch's
  // every request on 50 MP 0.2-0.3 s of the UI thread.
  const at::Tensor rows = at::max_pool2d(painted, {1, 2 * reach + 1}, {1, 1}, {0, reach});
  const at::Tensor grown = at::max_pool2d(rows, {2 * reach + 1, 1}, {1, 1}, {reach, 0});
  region.narrow(2, area.y(), area.height()).narrow(3, area.x(), area.width()).copy_(grown > 0);
  return region;
}

// A painted hint is a gesture ("this is roughly that colour"), not paint: the colorization keeps
// a hint's colour exactly where it is given, so a whole stroke of it stays as a hard-edged bar.
// One point per `spacing`×`spacing` block of the photo (the hinted pixel nearest the block's
// centre) still hints every model pixel the stroke covers when `spacing` is the photo's pixels per
// model pixel, and lets the colour spread from there along the photo's edges.
at::Tensor thin_hints(at::Tensor where, const QRect& area, int spacing) {
  if (spacing <= 1 || area.isEmpty()) return where;
  const int s = spacing;
  const int y0 = area.top() / s * s, x0 = area.left() / s * s;
  const int rows = (area.bottom() + 1 - y0 + s - 1) / s, cols = (area.right() + 1 - x0 + s - 1) / s;
  const int64_t h = where.size(2), w = where.size(3);
  at::Tensor blocks = at::zeros({rows * s, cols * s}, at::kFloat);
  const int64_t in_h = std::min<int64_t>(rows * s, h - y0), in_w = std::min<int64_t>(cols * s, w - x0);
  blocks.narrow(0, 0, in_h).narrow(1, 0, in_w).copy_(where[0][0].narrow(0, y0, in_h).narrow(1, x0, in_w));
  // Within a block, a score that falls with the distance from its centre.
  const at::Tensor offset = at::arange(s, at::kFloat) - float(s - 1) / 2;
  const at::Tensor distance = (offset.view({s, 1}).square() + offset.view({1, s}).square()).reshape({1, 1, s * s});
  const at::Tensor cells = blocks.view({rows, s, cols, s}).permute({0, 2, 1, 3}).reshape({rows, cols, s * s});
  const at::Tensor score = cells * (distance.max() + 1 - distance);
  const auto [best, index] = score.max(2, true);
  const at::Tensor kept = at::zeros_like(cells).scatter_(2, index, (best > 0).to(at::kFloat));
  // In place, over the blocks only: no hint lies outside them (a new tensor was 50 MB of zeros on
  // a 50 MP photo).
  where[0][0].narrow(0, y0, in_h).narrow(1, x0, in_w).copy_(
      kept.view({rows, cols, s, s}).permute({0, 2, 1, 3}).reshape({rows * s, cols * s}).narrow(0, 0, in_h).narrow(1, 0, in_w));
  return where;
}

// At the hinted pixels, the hint's colour with the photo's luma there, pulled toward grey just
// enough to be a colour at all: the result keeps the photo's luma, so a saturated yellow hint on
// a dark patch would otherwise be kept as an impossible colour and clamped (red, magenta).
void hint_colours_at_photo_luma(at::Tensor& colours, const at::Tensor& where, const QRect& area, const at::Tensor& photo) {
  // Found in `area`, which holds every hint, not in the whole photo (50 MB to read on 50 MP).
  const at::Tensor at = where[0][0].narrow(0, area.y(), area.height()).narrow(1, area.x(), area.width()).nonzero();  // [N, 2]
  if (at.size(0) == 0) return;
  const at::Tensor ys = at.select(1, 0) + area.y(), xs = at.select(1, 1) + area.x();
  const auto points = [&](const at::Tensor& image) {  // [1,3,N,1] float in [−1, 1]
    return edit::to_unit(image[0].index({at::indexing::Slice(), ys, xs})).to(at::kFloat).unsqueeze(0).unsqueeze(3);
  };
  const edit::LumaChromaOperator op;
  const at::Tensor luma = op.forward(points(photo)).narrow(1, 0, 1);
  const at::Tensor chroma = op.forward(points(colours)).narrow(1, 1, 2);
  const at::Tensor fitted = edit::fit_range_keeping_luma(op.inverse(at::cat({luma, chroma}, 1)));
  colours[0].index_put_({at::indexing::Slice(), ys, xs}, edit::to_form_of(fitted, colours).squeeze(3)[0]);
}

// Whether nothing but this handle reads the tensor (no request on its way holds it, nor a view of
// it): only then may it be written in place.
bool held_here_only(const at::Tensor& t) { return t.use_count() == 1 && t.storage().use_count() == 1; }

}  // namespace

bool has_inputs(const Document& doc, edit::EditKind kind) {
  for (Layer l : input_layers(kind))
    if (painted(doc, l)) return true;
  return false;
}

void clear_inputs(Document& doc, edit::EditKind kind) {
  for (Layer l : input_layers(kind))
    doc.clearLayer(l);  // a layer with nothing painted records nothing
}

const QImage& layer_of(const Document& doc, Layer layer, const LayerOverride* over) {
  return over && over->layer == layer ? over->image : doc.layer(layer);
}

QRect ink_rect_of(const Document& doc, Layer layer, const LayerOverride* over) {
  if (!over || over->layer != layer) return doc.inkRect(layer);
  return over->ink.isNull() ? over->image.rect() : over->ink & over->image.rect();
}

QImage painting_of(const Document& doc, const LayerOverride* over) {
  QImage painting = doc.photo().copy();
  QPainter painter(&painting);
  painter.drawImage(0, 0, layer_of(doc, Layer::Strokes, over));
  painter.end();
  return painting;
}

at::Tensor painting_tensor(const Document& doc, PhotoTensor& photo_tensor, const LayerOverride* over) {
  const QImage& photo = doc.photo();
  const bool own_strokes = !over || over->layer != Layer::Strokes;
  const qint64 strokes_key = doc.layer(Layer::Strokes).cacheKey();
  at::Tensor& kept = photo_tensor.painting;
  const bool kept_of_photo = kept.defined() && photo_tensor.painting_photo == photo.cacheKey();
  if (own_strokes && kept_of_photo && photo_tensor.painting_strokes == strokes_key) return kept;
  const QRect ink = ink_rect_of(doc, Layer::Strokes, over) & photo.rect();
  const QRect photo_rect = photo.rect();
  // The kept painting, once no request reads it, is brought up to date where the strokes were and
  // are (the photo again, then the strokes over it) instead of copied whole: on 50 MP the copy is
  // 0.25-0.32 s of a stroke's release. Not where that is most of the photo (strokes far apart).
  const QRect redone = ink | photo_tensor.painting_ink;
  const bool in_place = own_strokes && kept_of_photo && held_here_only(kept) &&
                        4 * qint64(redone.width()) * redone.height() < qint64(photo_rect.width()) * photo_rect.height();
  at::Tensor painting;
  if (in_place) {
    painting = kept;
    const QRect was = photo_tensor.painting_ink;
    if (!was.isEmpty())
      painting.narrow(2, was.y(), was.height()).narrow(3, was.x(), was.width())
          .copy_(photo_tensor.of(photo).narrow(2, was.y(), was.height()).narrow(3, was.x(), was.width()));
  } else {
    painting = photo_tensor.of(photo).clone();
  }
  if (!ink.isEmpty()) {
    QImage part = photo.copy(ink);
    QPainter painter(&part);
    painter.drawImage(QPoint(0, 0), layer_of(doc, Layer::Strokes, over), ink);
    painter.end();
    painting.narrow(2, ink.y(), ink.height()).narrow(3, ink.x(), ink.width()).copy_(cm::ui::photo_tensor(part));
  }
  if (own_strokes) {
    kept = painting;
    photo_tensor.painting_photo = photo.cacheKey(), photo_tensor.painting_strokes = strokes_key;
    photo_tensor.painting_ink = ink;
  }
  return painting;
}

const at::Tensor& PhotoTensor::of(const QImage& photo) {
  if (!tensor.defined() || key != photo.cacheKey()) {
    std::optional<at::Tensor> made = ahead.take(photo.cacheKey());
    tensor = made ? std::move(*made) : photo_tensor(photo);
    key = photo.cacheKey();
  }
  return tensor;
}

void PhotoTensor::update(const QImage& photo, QRect area) {
  area &= photo.rect();
  if (!tensor.defined() || tensor.size(2) != photo.height() || tensor.size(3) != photo.width()) return clear();
  if (area.isEmpty()) return;
  // A request still reads it, through this tensor or a view of it.
  if (!held_here_only(tensor)) tensor = tensor.clone();
  tensor.narrow(2, area.top(), area.height()).narrow(3, area.left(), area.width()).copy_(photo_tensor(photo.copy(area)));
  key = photo.cacheKey();
}

std::optional<std::pair<engine::EditRequest, QImage>> build_request(const Document& doc, const EditParameters& p, int steps,
                                                                     PhotoTensor& photo_tensor, int model_size,
                                                                     const LayerOverride* over) {
  if (doc.isEmpty()) return std::nullopt;
  engine::EditRequest r;
  r.kind = p.kind;
  r.steps = steps;
  const engine::EditSpec& spec = engine::spec_of(p.kind);
  if (spec.has_strength) r.strength = p.strength;
  for (const engine::EditSetting& s : spec.settings) s.set(r, p.settings.value(QString::fromUtf8(s.name), s.fallback));
  r.seed = p.seed;
  r.seed_b = p.seed_b;
  r.blend_seeds = p.blend > 0;
  r.blend = p.blend;
  r.class_label = p.class_label;
  // The mask first: with nothing painted yet there is no request, and the photo is not converted
  // (on 50 MP, 0.4 s of the UI thread when the photo opened).
  if (spec.mask != engine::Need::No) {
    // Read where it is painted only, and made only where something is (its 50 MB of zeros on a
    // 50 MP photo): it is read for every preview while painting.
    const QRect ink = ink_rect_of(doc, Layer::Mask, over);
    if (!ink.isEmpty()) r.mask = mask_tensor(layer_of(doc, Layer::Mask, over), ink);
    if (ink.isEmpty() || !r.mask.narrow(2, ink.y(), ink.height()).narrow(3, ink.x(), ink.width()).any().item<bool>()) {
      if (spec.mask == engine::Need::Required) return std::nullopt;  // nothing painted yet
      r.mask = at::Tensor();
    }
  }
  if (spec.painting) {
    // Only the strokes' neighbourhood (and a mask the user painted): without strokes there is
    // nothing to redraw, as a colour photo without hints has nothing to colorize.
    const QRect ink = ink_rect_of(doc, Layer::Strokes, over);
    if (ink.isEmpty()) return std::nullopt;
    const at::Tensor region = strokes_region(layer_of(doc, Layer::Strokes, over), ink, kSketchReach);
    if (!region.any().item<bool>()) return std::nullopt;
    r.mask = r.mask.defined() ? at::maximum(r.mask, region) : region;
    r.image = painting_tensor(doc, photo_tensor, over);
    // The image whose alpha the result keeps: an opaque photo's is the painting's.
    return std::make_pair(std::move(r), doc.photoIsOpaque() ? doc.photo() : painting_of(doc, over));
  }
  photo_tensor.painting = at::Tensor();  // another edit: the kept painting's 300 MB (50 MP) go
  QImage source = doc.photo();
  const bool cropped = p.kind == edit::EditKind::SuperResolve && !p.selection.isEmpty();
  if (cropped) source = source.copy(p.selection & source.rect());
  if (spec.image) r.image = cropped ? cm::ui::photo_tensor(source) : photo_tensor.of(doc.photo());
  if (spec.hints) {
    // Only the box of the painted hints, in whole blocks of the thinning: the photo's whole were
    // 200 MB of zeros, made on this thread for each request of a hint stroke (0.1-0.7 s while the
    // engine worked); the engine places the box (EditRequest::hints_y).
    const QRect area = ink_rect_of(doc, Layer::Hints, over) & QRect(QPoint(0, 0), doc.size());
    const int side = std::max(doc.size().width(), doc.size().height());
    const int spacing = std::max(1, model_size > 0 ? side / model_size : 1);
    const QRect box = area.isEmpty() ? QRect()
                                     : QRect(QPoint(area.left() / spacing * spacing, area.top() / spacing * spacing),
                                             QPoint(area.right() / spacing * spacing + spacing - 1, area.bottom() / spacing * spacing + spacing - 1)) &
                                           QRect(QPoint(0, 0), doc.size());
    auto [colours, where] = box.isEmpty() ? std::pair<at::Tensor, at::Tensor>() : hint_tensors(layer_of(doc, Layer::Hints, over), box);
    if (where.defined() && where.max().item<int>() > 0) {
      const QRect inside = area.translated(-box.topLeft());  // the box starts on a block's corner
      where = thin_hints(where, inside, spacing);
      const at::Tensor photo = photo_tensor.of(doc.photo()).narrow(2, box.y(), box.height()).narrow(3, box.x(), box.width());
      hint_colours_at_photo_luma(colours, where, inside, photo);
      r.hints = colours;
      r.hint_mask = where;
      r.hints_y = box.y();
      r.hints_x = box.x();
    } else if (r.image.defined() && !doc.photoIsGrey()) {
      return std::nullopt;  // a colour photo without hints: nothing to do yet (the preview would only grey it)
    }
  }
  return std::make_pair(std::move(r), source);
}

QVector<QImage> result_images(const engine::EditResult& result, const QImage& source) {
  QVector<QImage> images;
  if (result.status != engine::JobStatus::Done) return images;
  for (int64_t i = 0; i < result.image.size(0); ++i) {
    const at::Tensor one = result.image.narrow(0, i, 1);
    const int64_t k = source.height() > 0 ? one.size(2) / source.height() : 1;
    if (k > 1)
      images.push_back(rgba64_image(one, alpha_tensor(source).repeat_interleave(k, 2).repeat_interleave(k, 3)));
    else if (one.size(2) == source.height() && one.size(3) == source.width())
      images.push_back(rgba64_like(one, source));
    else
      images.push_back(rgba64_image(one));
  }
  return images;
}

QVector<QImage> result_parts(const engine::EditResult& result, const QImage& source, QRect area) {
  area &= source.rect();
  if (result.status != engine::JobStatus::Done) return {};
  at::Tensor parts = result.image;
  if (area.isEmpty()) return QVector<QImage>(int(parts.defined() && parts.dim() == 4 ? parts.size(0) : 1));
  if (parts.dim() == 4 && parts.size(2) == source.height() && parts.size(3) == source.width())  // the whole photo after all
    parts = parts.narrow(2, area.y(), area.height()).narrow(3, area.x(), area.width());
  if (parts.dim() != 4 || parts.size(2) != area.height() || parts.size(3) != area.width())
    throw Error(ErrorCode::Internal, fmt::format("an edit along the mask returned {} for the {}×{} pixels it reported",
                                                 model::shape_string(parts.sizes()), area.width(), area.height()));
  const QImage like = source.copy(area);
  QVector<QImage> images;
  for (int64_t i = 0; i < parts.size(0); ++i) images.push_back(rgba64_like(parts.narrow(0, i, 1), like));
  return images;
}

}  // namespace cm::ui
