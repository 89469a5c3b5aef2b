// The document model (layers + undo) and the edit controller (document ↔ engine), driven as the
// editor drives them. No GL needed: these run offscreen.
#include "ui/document.h"
#include "ui/edit_controller.h"
#include "ui/edit_inputs.h"
#include "ui/photo_copy.h"
#include "ui/tensor_image.h"

#include <ATen/ATen.h>

#include <gtest/gtest.h>

#include <QPainter>
#include <QSignalSpy>
#include <QTest>
#include <QUndoStack>

#include <cstdlib>
#include <optional>
#include <utility>

namespace {

using cm::ui::Brush;
using cm::ui::Document;
using cm::ui::Layer;

// A 16-bit photo whose every pixel differs, so any misplaced copy shows.
QImage photo16(int w, int h) {
  QImage image(w, h, QImage::Format_RGBA64);
  for (int y = 0; y < h; ++y) {
    auto* row = reinterpret_cast<quint16*>(image.scanLine(y));
    for (int x = 0; x < w; ++x) {
      row[4 * x + 0] = quint16(1000 + 1200 * x + 7 * y);
      row[4 * x + 1] = quint16(60000 - 1300 * y + 3 * x);
      row[4 * x + 2] = quint16(20000 + 500 * (x ^ y));
      row[4 * x + 3] = 65535;
    }
  }
  return image;
}

int whitePixels(const QImage& mask) {
  int n = 0;
  for (int y = 0; y < mask.height(); ++y)
    for (int x = 0; x < mask.width(); ++x) n += mask.constScanLine(y)[x] >= 128;
  return n;
}

TEST(Document, StrokesUndoAndRedoToTheExactPixels) {
  Document doc;
  doc.reset(photo16(48, 40), 16, QStringLiteral("test.png"));
  const QImage empty = doc.mask().copy();
  const quint64 r0 = doc.revision();
  doc.paintStroke(Layer::Mask, {QPointF(10, 10), QPointF(30, 12)}, Brush{8, 1.0});
  const QImage painted = doc.mask().copy();
  EXPECT_GT(whitePixels(painted), 100);
  EXPECT_EQ(painted.pixelColor(20, 11).value(), 255);
  EXPECT_EQ(painted.pixelColor(20, 35).value(), 0);  // far from the stroke
  EXPECT_GT(doc.revision(), r0);
  doc.undoStack()->undo();
  EXPECT_EQ(doc.mask(), empty);
  doc.undoStack()->redo();
  EXPECT_EQ(doc.mask(), painted);
  // Erasing part of it is a separate step.
  doc.paintStroke(Layer::Mask, {QPointF(30, 12)}, Brush{10, 1.0, Qt::white, true});
  EXPECT_LT(whitePixels(doc.mask()), whitePixels(painted));
  EXPECT_EQ(doc.undoStack()->count(), 2);
  doc.invertMask();
  doc.clearLayer(Layer::Mask);
  EXPECT_EQ(whitePixels(doc.mask()), 0);
  doc.undoStack()->undo();
  doc.undoStack()->undo();
  doc.undoStack()->undo();
  EXPECT_EQ(doc.mask(), painted);
}

TEST(Document, ReplacingThePhotoUndoesToTheExactSixteenBitPixels) {
  Document doc;
  const QImage original = photo16(20, 16);
  doc.reset(original, 16, QString());
  QImage edited = original.copy();
  edited.fill(QColor(10, 20, 30));
  doc.replacePhoto(edited, QStringLiteral("edit"));
  EXPECT_EQ(doc.photo().pixelColor(3, 3), QColor(10, 20, 30));
  doc.undoStack()->undo();
  EXPECT_EQ(doc.photo(), original);
  doc.replacePhoto(photo16(8, 8), QStringLiteral("wrong size"));  // refused, nothing recorded
  EXPECT_EQ(doc.undoStack()->index(), 0);
}

// An applied edit that changed a small part (a masked edit on a large photo) is recorded as that
// part: the photo's `changed` names only the rectangle whose pixels differ, undo and redo bring
// each state back exactly, and a result equal to the photo records nothing.
TEST(Document, ReplacingThePhotoRecordsOnlyTheRectangleThatChanged) {
  Document doc;
  const QImage original = photo16(40, 30);
  doc.reset(original, 16, QString());
  QImage edited = original.copy();
  edited.setPixelColor(7, 5, QColor(1, 2, 3));    // the rectangle's top-left corner
  edited.setPixelColor(12, 9, QColor(200, 0, 0)); // and its bottom-right
  edited.setPixelColor(9, 6, QColor(0, 90, 0));
  QSignalSpy changed(&doc, &Document::changed);
  doc.replacePhoto(edited, QStringLiteral("edit"));
  ASSERT_EQ(changed.count(), 1);
  EXPECT_EQ(changed.first().at(1).toRect(), QRect(QPoint(7, 5), QPoint(12, 9)));
  EXPECT_EQ(doc.photo(), edited.convertToFormat(QImage::Format_RGBA64));
  EXPECT_TRUE(doc.photoModified());
  doc.undoStack()->undo();
  EXPECT_EQ(doc.photo(), original);
  EXPECT_FALSE(doc.photoModified());
  doc.undoStack()->redo();
  EXPECT_EQ(doc.photo(), edited.convertToFormat(QImage::Format_RGBA64));
  const int steps = doc.undoStack()->count();
  doc.replacePhoto(doc.photo().copy(), QStringLiteral("nothing"));
  EXPECT_EQ(doc.undoStack()->count(), steps) << "an unchanged photo was recorded";

  // Told where the result may differ (an applied preview's area), it reads only there and finds
  // the same rectangle; told nowhere, it records nothing.
  QImage again = doc.photo().copy();
  again.setPixelColor(30, 20, QColor(9, 9, 9));
  again.setPixelColor(33, 24, QColor(9, 9, 9));
  doc.replacePhoto(again, QStringLiteral("nothing where told"), QRect());
  EXPECT_EQ(doc.undoStack()->count(), steps);
  doc.replacePhoto(again, QStringLiteral("edit"), QRect(25, 15, 15, 15));
  ASSERT_EQ(changed.count(), 4);  // the edit, its undo and redo, this one
  EXPECT_EQ(changed.last().at(1).toRect(), QRect(QPoint(30, 20), QPoint(33, 24)));
  EXPECT_EQ(doc.photo(), again);
}

// An export written on another thread marks the version it began with, which may no longer be
// the photo's, or no longer this photo's: a version of a photo opened before changes nothing.
TEST(Document, AnExportedVersionIsSavedOnlyForThePhotoItIsOf) {
  Document doc;
  doc.reset(photo16(40, 30), 16, QString());
  QImage edited = doc.photo().copy();
  edited.setPixelColor(3, 4, QColor(200, 0, 0));
  doc.replacePhoto(edited, QStringLiteral("edit"));
  const quint64 exported = doc.photoVersion();
  edited.setPixelColor(5, 4, QColor(0, 0, 200));
  doc.replacePhoto(edited, QStringLiteral("later"));
  QSignalSpy modified(&doc, &Document::photoModifiedChanged);
  EXPECT_TRUE(doc.markPhotoSaved(exported));
  EXPECT_TRUE(doc.photoModified());
  EXPECT_EQ(modified.count(), 0);
  doc.undoStack()->undo();  // the version on disk
  EXPECT_FALSE(doc.photoModified());
  doc.undoStack()->undo();  // the photo as opened is no longer the one on disk
  EXPECT_TRUE(doc.photoModified());

  doc.undoStack()->redo();
  const quint64 before = doc.photoVersion();
  doc.reset(photo16(20, 10), 16, QString());
  EXPECT_FALSE(doc.markPhotoSaved(before));
  EXPECT_FALSE(doc.photoModified());
}

// Whether the photo is grey or opaque is read once per version, and after an edit only in the
// part it wrote when that part keeps it so; whatever the edit or undo, the answer is the photo's.
TEST(Document, WhatIsKnownOfThePhotoFollowsEachWrite) {
  Document doc;
  QImage grey(24, 16, QImage::Format_RGBA64);
  grey.fill(QColor(100, 100, 100));
  doc.reset(grey, 16, QString());
  ASSERT_TRUE(doc.photoIsGrey());
  ASSERT_TRUE(doc.photoIsOpaque());
  QImage lighter = grey.copy();
  lighter.setPixelColor(3, 3, QColor(180, 180, 180));
  doc.replacePhoto(lighter, QStringLiteral("grey part"));
  EXPECT_TRUE(doc.photoIsGrey());
  EXPECT_TRUE(doc.photoIsOpaque());
  QImage tinted = lighter.copy();
  tinted.setPixelColor(20, 12, QColor(180, 40, 40, 128));
  doc.replacePhoto(tinted, QStringLiteral("coloured, see-through part"));
  EXPECT_FALSE(doc.photoIsGrey());
  EXPECT_FALSE(doc.photoIsOpaque());
  doc.undoStack()->undo();
  EXPECT_TRUE(doc.photoIsGrey());
  EXPECT_TRUE(doc.photoIsOpaque());
  doc.undoStack()->redo();
  EXPECT_FALSE(doc.photoIsGrey());
  EXPECT_FALSE(doc.photoIsOpaque());
}

// A new document's mask, sketch and hints are blank (their memory comes only where they are
// painted: Document's blank_layer), each its own: painting one leaves the others as they were,
// at any width (a grey layer's lines are padded to 32 bits).
TEST(Document, ANewDocumentsLayersAreBlankAndEachItsOwn) {
  Document doc;
  doc.reset(photo16(37, 11), 16, QString());
  for (Layer l : {Layer::Mask, Layer::Strokes, Layer::Hints}) {
    const QImage& layer = doc.layer(l);
    ASSERT_EQ(layer.size(), QSize(37, 11));
    for (int y = 0; y < layer.height(); ++y)
      for (int x = 0; x < layer.width() * layer.depth() / 8; ++x) ASSERT_EQ(layer.constScanLine(y)[x], 0) << int(l);
    EXPECT_TRUE(doc.inkRect(l).isEmpty());
  }
  EXPECT_EQ(doc.mask().format(), QImage::Format_Grayscale8);
  EXPECT_EQ(doc.layer(Layer::Hints).format(), QImage::Format_ARGB32_Premultiplied);
  Brush red;
  red.diameter = 6;
  red.color = Qt::red;
  doc.paintStroke(Layer::Strokes, {QPointF(5, 5), QPointF(30, 5)}, red);
  doc.paintStroke(Layer::Mask, {QPointF(36, 10)}, red);
  EXPECT_GT(qAlpha(doc.layer(Layer::Strokes).pixel(20, 5)), 200);
  EXPECT_EQ(doc.layer(Layer::Hints).pixel(20, 5), 0u) << "the hints share the sketch's pixels";
  EXPECT_EQ(whitePixels(doc.mask()) > 0, true);
  EXPECT_EQ(doc.mask().pixelIndex(20, 5), 0);
  doc.undoStack()->undo();
  doc.undoStack()->undo();
  EXPECT_EQ(qAlpha(doc.layer(Layer::Strokes).pixel(20, 5)), 0);
  EXPECT_EQ(whitePixels(doc.mask()), 0);
}

// The stroke still under the brush (what the live preview shows while painting) is the layer as
// that stroke would leave it, what was painted before included.
TEST(Document, AStrokeUnderTheBrushIsTheLayerAsThatStrokeLeavesIt) {
  Document doc;
  doc.reset(photo16(50, 40), 16, QString());
  Brush brush;
  brush.diameter = 5;
  brush.color = QColor(20, 200, 90);
  for (Layer l : {Layer::Mask, Layer::Strokes}) {
    doc.paintStroke(l, {QPointF(4, 4), QPointF(20, 8)}, brush);  // before
    const QVector<QPointF> stroke = {QPointF(30, 30), QPointF(45, 35)};
    QRect ink;
    const QImage under_brush = doc.withStroke(l, stroke, brush, &ink);
    doc.paintStroke(l, stroke, brush);
    EXPECT_EQ(under_brush, doc.layer(l)) << int(l);
    // Where it may hold paint, which a preview reads alone: every painted pixel lies in it.
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 50; ++x)
        if (l == Layer::Mask ? qGray(under_brush.pixel(x, y)) > 0 : qAlpha(under_brush.pixel(x, y)) > 0) {
          EXPECT_TRUE(ink.contains(x, y)) << int(l) << " " << x << "," << y;
        }
    EXPECT_TRUE(ink.contains(QRect(29, 29, 17, 7))) << "the stroke under the brush";
  }
}

// The compare key redraws where the photo may differ from the photo as opened: every write since
// it was opened, an undo's too.
TEST(Document, TheEditedRectHoldsEveryWriteSinceTheOpening) {
  Document doc;
  const QImage original = photo16(40, 30);
  doc.reset(original, 16, QString());
  EXPECT_TRUE(doc.editedRect().isEmpty());
  QImage edited = original.copy();
  edited.setPixelColor(7, 5, QColor(1, 2, 3));
  doc.replacePhoto(edited, QStringLiteral("edit"));
  EXPECT_EQ(doc.editedRect(), QRect(7, 5, 1, 1));
  doc.undoStack()->undo();  // the photo is the original again, written back in that part
  EXPECT_TRUE(doc.editedRect().contains(QRect(7, 5, 1, 1)));
  doc.reset(original, 16, QString());
  EXPECT_TRUE(doc.editedRect().isEmpty()) << "a new document";
}

// The photo as the edits take it (16-bit stored pixels) follows each change of the photo in the
// changed part only, and a tensor a job still reads is never written under it.
TEST(PhotoTensor, FollowsThePhotoPartByPartAndNeverWritesUnderAJob) {
  Document doc;
  const QImage original = photo16(40, 30);
  doc.reset(original, 16, QString());
  cm::ui::PhotoTensor cached;
  QSignalSpy changed(&doc, &Document::changed);
  at::Tensor held = cached.of(doc.photo());  // a request on its way holds it
  QImage edited = original.copy();
  edited.setPixelColor(7, 5, QColor(1, 2, 3));
  edited.setPixelColor(12, 9, QColor(200, 0, 0));
  doc.replacePhoto(edited, QStringLiteral("edit"));
  ASSERT_EQ(changed.count(), 1);
  cached.update(doc.photo(), changed.last().at(1).toRect());
  EXPECT_TRUE(at::equal(cached.tensor, cm::ui::photo_tensor(doc.photo())));
  EXPECT_TRUE(at::equal(held, cm::ui::photo_tensor(original))) << "written under the job that held it";
  const void* pixels = cached.tensor.data_ptr();
  EXPECT_EQ(cached.of(doc.photo()).data_ptr(), pixels) << "converted again, whole";

  held = at::Tensor();  // nobody else reads it now: the undo is written in place
  doc.undoStack()->undo();
  cached.update(doc.photo(), changed.last().at(1).toRect());
  EXPECT_EQ(cached.tensor.data_ptr(), pixels);
  EXPECT_TRUE(at::equal(cached.tensor, cm::ui::photo_tensor(original)));
  EXPECT_EQ(cached.of(doc.photo()).data_ptr(), pixels);
}

// The photo's copies made on another thread when it opens (MadeAhead) are of the version they were
// made for: a lend or a request after the photo changed gets the photo as it is now. Once made,
// nothing else holds the photo's pixels (a change of the photo would copy all of them first).
TEST(PhotoCopy, ACopyMadeAheadIsTakenOnlyForThePhotoItWasMadeOfAndLetsGoOfThePhoto) {
  QImage photo = photo16(40, 30);
  cm::ui::PhotoCopy copy(QImage::Format_RGBA8888);
  copy.prepare(photo);
  // Its thread lets go of the photo when it is done, before the copy is taken.
  for (int waited = 0; !photo.isDetached() && waited < 10000; waited += 10) QTest::qWait(10);
  EXPECT_TRUE(photo.isDetached()) << "the copy made, its thread still holds the photo";
  EXPECT_EQ(copy.lend(photo), photo.convertToFormat(QImage::Format_RGBA8888));

  cm::ui::PhotoCopy same_format(QImage::Format_RGBA64);
  same_format.prepare(photo);
  photo.setPixelColor(3, 4, QColor(9, 8, 7));  // a new version, after the copy was started
  const QImage now = same_format.lend(photo);
  EXPECT_EQ(now, photo) << "the copy of the photo as it was";
  EXPECT_NE(now.constBits(), photo.constBits()) << "the borrower would paint into the photo";

  // Given back painted all over (a colorization's preview), the next copy is the photo again.
  QImage painted = now;
  painted.fill(QColor(250, 0, 0));
  same_format.give_back(painted, painted.rect(), photo);
  EXPECT_EQ(same_format.lend(photo), photo);

  cm::ui::PhotoTensor tensor;
  tensor.prepare(photo);
  EXPECT_TRUE(at::equal(tensor.of(photo), cm::ui::photo_tensor(photo)));
  tensor.clear();
  tensor.prepare(photo);
  photo.setPixelColor(5, 6, QColor(1, 2, 3));
  EXPECT_TRUE(at::equal(tensor.of(photo), cm::ui::photo_tensor(photo))) << "the tensor of the photo as it was";
}

// A document and what the controller keeps for its requests (the photo's tensor), for an edit of
// `kind` with the model's side 64.
struct Requests {
  Document doc;
  cm::ui::PhotoTensor cached;
  cm::ui::EditParameters p;
  Requests(const QImage& photo, int bit_depth, cm::edit::EditKind kind) {
    doc.reset(photo, bit_depth, QString());
    p.kind = kind;
  }
  std::optional<std::pair<cm::engine::EditRequest, QImage>> build(int steps = 1, const cm::ui::LayerOverride* over = nullptr) {
    return cm::ui::build_request(doc, p, steps, cached, 64, over);
  }
};

// Nothing painted yet, nothing to do: the request is not made, and the photo is not converted for
// it (the editor asks when a photo opens; on 50 MP that conversion held the UI thread 0.4 s).
TEST(PhotoTensor, AnInpaintingWithNothingPaintedDoesNotConvertThePhoto) {
  Requests r(photo16(40, 30), 16, cm::edit::EditKind::Inpaint);
  EXPECT_FALSE(r.build().has_value());
  EXPECT_FALSE(r.cached.tensor.defined());
  r.doc.paintStroke(Layer::Mask, {QPointF(10, 10), QPointF(20, 12)}, Brush{6, 1.0, Qt::white});
  const auto request = r.build();
  ASSERT_TRUE(request.has_value());
  EXPECT_TRUE(at::equal(request->first.image, cm::ui::photo_tensor(r.doc.photo())));
}

// A sketch's painting is the photo with its strokes over it, made from the kept photo tensor and the
// strokes' part: the same as the whole painting converted, with a stroke under the brush too, and
// the photo's tensor is left as the photo. With no strokes there is no request.
TEST(PhotoTensor, ASketchsPaintingIsThePhotoWithItsStrokesOverIt) {
  Requests r(photo16(240, 160), 16, cm::edit::EditKind::Sketch);
  Document& doc = r.doc;
  EXPECT_FALSE(r.build(1).has_value()) << "no strokes";
  doc.paintStroke(Layer::Strokes, {QPointF(10, 10), QPointF(30, 14)}, Brush{7, 0.5, QColor(200, 30, 40)});
  auto request = r.build(1);
  ASSERT_TRUE(request.has_value());
  EXPECT_TRUE(at::equal(request->first.image, cm::ui::photo_tensor(cm::ui::painting_of(doc, nullptr))));
  EXPECT_TRUE(at::equal(r.cached.of(doc.photo()), cm::ui::photo_tensor(doc.photo()))) << "painted into the photo's tensor";
  EXPECT_FALSE(at::equal(request->first.image, cm::ui::photo_tensor(doc.photo()))) << "no strokes in the painting";
  // What it redraws: the painted pixels and 8 around them (edit_inputs.cpp's kSketchReach).
  const at::Tensor painted = (cm::ui::alpha_tensor(doc.layer(Layer::Strokes)) > 0).to(at::kFloat);
  const at::Tensor reach = at::max_pool2d(painted, {17, 17}, {1, 1}, {8, 8}) > 0;
  EXPECT_TRUE(at::equal(request->first.mask > 0, reach));

  cm::ui::LayerOverride under_brush{Layer::Strokes, doc.layer(Layer::Strokes).copy(), QRect()};
  QPainter painter(&under_brush.image);
  painter.fillRect(QRect(40, 20, 9, 6), QColor(20, 220, 40, 160));
  painter.end();
  under_brush.ink = QRect(0, 0, 240, 160);
  auto provisional = r.build(1, &under_brush);
  ASSERT_TRUE(provisional.has_value());
  EXPECT_TRUE(at::equal(provisional->first.image, cm::ui::photo_tensor(cm::ui::painting_of(doc, &under_brush))));

  // The same document again (a refinement after its draft): the same painting, not made again.
  auto again = r.build(3);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->first.image.data_ptr(), request->first.image.data_ptr());
  const at::Tensor first_painting = cm::ui::photo_tensor(cm::ui::painting_of(doc, nullptr));
  doc.paintStroke(Layer::Strokes, {QPointF(50, 30)}, Brush{5, 1.0, QColor(0, 0, 255)});
  auto after_stroke = r.build(1);
  ASSERT_TRUE(after_stroke.has_value());
  EXPECT_TRUE(at::equal(after_stroke->first.image, cm::ui::photo_tensor(cm::ui::painting_of(doc, nullptr)))) << "the painting before the stroke";
  EXPECT_TRUE(at::equal(request->first.image, first_painting)) << "written under the request that holds it";

  // Once no request reads it, the next painting is made in the kept one: the stroke undone is the
  // photo again there, the strokes left are painted.
  const void* kept = after_stroke->first.image.data_ptr();
  request.reset(), again.reset(), provisional.reset(), after_stroke.reset();
  doc.undoStack()->undo();
  const auto undone = r.build(1);
  ASSERT_TRUE(undone.has_value());
  EXPECT_EQ(undone->first.image.data_ptr(), kept) << "copied whole again";
  EXPECT_TRUE(at::equal(undone->first.image, first_painting));
}

// A colour hint painted on a photo larger than the model is thinned to one point in each block of
// the photo's pixels per model pixel that it touches (the one nearest the block's centre), and only
// on the stroke; a grey photo without hints asks for its colorization without any.
TEST(PhotoTensor, AColourHintIsThinnedToOnePointABlockOnTheStroke) {
  QImage grey(640, 480, QImage::Format_RGB32);
  for (int y = 0; y < grey.height(); ++y)
    for (int x = 0; x < grey.width(); ++x) grey.setPixel(x, y, qRgb((x + y) % 256, (x + y) % 256, (x + y) % 256));
  Requests r(grey, 8, cm::edit::EditKind::Colorize);
  Document& doc = r.doc;
  const auto bare = r.build(1);
  ASSERT_TRUE(bare.has_value()) << "a grey photo is colorized without hints";
  EXPECT_FALSE(bare->first.hint_mask.defined());

  doc.paintStroke(Layer::Hints, {QPointF(105, 203), QPointF(260, 251)}, Brush{9, 1.0, QColor(30, 160, 40)});
  const auto request = r.build(1);
  ASSERT_TRUE(request.has_value());
  ASSERT_TRUE(request->first.hint_mask.defined());
  const int spacing = 640 / 64;
  // Only the blocks the stroke touches go, as a box the engine places (the photo's whole were
  // 200 MB of zeros on 50 MP, made for every request of a stroke).
  const cm::engine::EditRequest& sent = request->first;
  EXPECT_EQ(sent.hints_y % spacing, 0);
  EXPECT_EQ(sent.hints_x % spacing, 0);
  EXPECT_LE(sent.hint_mask.size(2), 251 - 203 + 9 + 2 * spacing);
  EXPECT_LE(sent.hint_mask.size(3), 260 - 105 + 9 + 2 * spacing);
  at::Tensor hints = at::zeros({1, 3, 480, 640}, sent.hints.options()), where = at::zeros({1, 1, 480, 640}, sent.hint_mask.options());
  hints.narrow(2, sent.hints_y, sent.hints.size(2)).narrow(3, sent.hints_x, sent.hints.size(3)).copy_(sent.hints);
  where.narrow(2, sent.hints_y, sent.hint_mask.size(2)).narrow(3, sent.hints_x, sent.hint_mask.size(3)).copy_(sent.hint_mask);
  const at::Tensor painted = cm::ui::alpha_tensor(doc.layer(Layer::Hints))[0][0] >= 0.5;
  const at::Tensor kept = where[0][0] > 0;
  EXPECT_FALSE((kept & ~painted).any().item<bool>()) << "a point off the stroke";
  const auto per_block = [&](const at::Tensor& m) {
    return at::avg_pool2d(m.to(at::kFloat).view({1, 1, 480, 640}), {spacing, spacing}) * (spacing * spacing);
  };
  const at::Tensor points = per_block(kept), touched = per_block(painted) > 0;
  EXPECT_TRUE(at::equal(points > 0, touched)) << "a touched block without its point";
  EXPECT_LE(points.max().item<float>(), 1.0f);
  // Each point's colour has the photo's brightness there ((x + y) mod 256), not the paint's.
  const at::Tensor at = kept.nonzero();
  ASSERT_GT(at.size(0), 10);
  const at::Tensor ys = at.select(1, 0), xs = at.select(1, 1);
  const at::Tensor rgb = hints[0].index({at::indexing::Slice(), ys, xs}).to(at::kFloat);
  const at::Tensor luma = 0.2989 * rgb[0] + 0.5870 * rgb[1] + 0.1140 * rgb[2];
  const at::Tensor photo_luma = at::remainder(ys + xs, 256).to(at::kFloat);
  EXPECT_LE((luma - photo_luma).abs().max().item<float>(), 3.0f);
}

// One notion of a grey photo for opening (Colorize is chosen) and for colorizing without hints:
// equal channels, or within JPEG's slight chroma noise; it follows the photo through edits and undo.
TEST(Document, AGreyPhotoIsGreyThroughJpegNoiseAndEditsAndUndo) {
  Document doc;
  EXPECT_FALSE(doc.photoIsGrey()) << "no photo";
  QImage grey(24, 16, QImage::Format_RGB32);
  for (int y = 0; y < grey.height(); ++y)
    for (int x = 0; x < grey.width(); ++x) grey.setPixel(x, y, qRgb(10 * x, 10 * x, 10 * x));
  grey.setPixel(5, 5, qRgb(101, 100, 100));  // a JPEG's stray chroma: one level off
  doc.reset(grey, 8, QString());
  EXPECT_TRUE(doc.photoIsGrey());
  QImage tinted = grey.copy();
  tinted.setPixel(7, 3, qRgb(90, 70, 70));
  doc.replacePhoto(tinted, QStringLiteral("tint"));
  EXPECT_FALSE(doc.photoIsGrey()) << "one coloured pixel makes a colour photo";
  doc.undoStack()->undo();
  EXPECT_TRUE(doc.photoIsGrey());
}

// The controller on a real model: the golden set's small UNet with a card (tests/cli/edit_tests.cmake).
class Controller : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* model = std::getenv("CMEDIT_TEST_MODEL");
    ASSERT_TRUE(model) << "CMEDIT_TEST_MODEL is not set (CTest sets it)";
    doc.reset(photo16(48, 40), 16, QString());
    controller = std::make_unique<cm::ui::EditController>(&doc);
    QSignalSpy loaded(controller.get(), &cm::ui::EditController::modelLoaded);
    QSignalSpy failed(controller.get(), &cm::ui::EditController::failed);
    controller->loadModel(QString::fromUtf8(model));
    ASSERT_TRUE(loaded.wait(20000)) << (failed.isEmpty() ? "" : failed.first().first().toString().toStdString());
    cm::ui::EditParameters p;
    p.kind = cm::edit::EditKind::Inpaint;
    p.settings["grow"] = 1;
    p.settings["feather"] = 2;
    controller->setParameters(p);
  }
  Document doc;
  std::unique_ptr<cm::ui::EditController> controller;
};

TEST_F(Controller, PreviewApplyAndUndoKeepUnmaskedPixelsExactly) {
  const QImage original = doc.photo().copy();
  doc.paintStroke(Layer::Mask, {QPointF(20, 20)}, Brush{6, 1.0});
  QSignalSpy ready(controller.get(), &cm::ui::EditController::previewReady);
  controller->requestPreview(true);  // the refined preview: what Apply commits
  ASSERT_TRUE(ready.wait(20000));
  ASSERT_TRUE(controller->hasPreview());
  EXPECT_EQ(controller->previewRevision(), doc.revision());
  ASSERT_TRUE(controller->applyPreview());
  // Far from the mask (beyond grow + 2·feather + the brush) every 16-bit value is the original's.
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 48; ++x) {
      if (std::abs(x - 20) <= 9 && std::abs(y - 20) <= 9) continue;
      ASSERT_EQ(doc.photo().pixelColor(x, y).rgba64(), original.pixelColor(x, y).rgba64()) << x << "," << y;
    }
  EXPECT_NE(doc.photo().pixelColor(20, 20).rgba64(), original.pixelColor(20, 20).rgba64());
  EXPECT_EQ(whitePixels(doc.mask()), 0);  // the mask is used up
  doc.undoStack()->undo();                // one step undoes both
  EXPECT_EQ(doc.photo(), original);
  EXPECT_GT(whitePixels(doc.mask()), 0);
}

// A whole preview of a megapixel or more comes with its canvas picture made on the worker's thread
// (a grey 50 MP photo's colorization took the UI thread 0.14-0.16 s to convert): the preview's own,
// given once; a preview painted over a copy of the photo (an edit along a mask) has none.
TEST_F(Controller, AWholePreviewComesWithItsCanvasPictureMadeOnTheWorker) {
  doc.paintStroke(Layer::Mask, {QPointF(20, 20)}, Brush{6, 1.0});
  QSignalSpy ready(controller.get(), &cm::ui::EditController::previewReady);
  controller->requestPreview(true);
  ASSERT_TRUE(ready.wait(20000));
  EXPECT_TRUE(controller->takePreviewInCanvasFormat().isNull()) << "an edit along a mask";

  QImage grey(1024, 1024, QImage::Format_RGB32);
  for (int y = 0; y < grey.height(); ++y)
    for (int x = 0; x < grey.width(); ++x) grey.setPixel(x, y, qRgb((x + 3 * y) % 256, (x + 3 * y) % 256, (x + 3 * y) % 256));
  doc.reset(grey, 8, QString());
  cm::ui::EditParameters p;
  p.kind = cm::edit::EditKind::Colorize;
  controller->setParameters(p);
  ready.clear();
  controller->requestPreview(true);
  ASSERT_TRUE(ready.wait(60000));
  ASSERT_TRUE(controller->hasPreview());
  const QImage made = controller->takePreviewInCanvasFormat();
  ASSERT_FALSE(made.isNull());
  EXPECT_EQ(made, controller->preview().convertToFormat(QImage::Format_RGBA8888));
  EXPECT_TRUE(controller->takePreviewInCanvasFormat().isNull()) << "given twice";
}

TEST_F(Controller, AStrokeDuringARunningJobGetsItsOwnPreview) {
  controller->setLivePreview(true);
  controller->setRefineDelay(60000);  // only one-step previews here
  QSignalSpy ready(controller.get(), &cm::ui::EditController::previewReady);
  doc.paintStroke(Layer::Mask, {QPointF(10, 10)}, Brush{6, 1.0});
  doc.paintStroke(Layer::Mask, {QPointF(35, 30)}, Brush{6, 1.0});  // while the first job may still run
  ASSERT_TRUE(ready.wait(20000));
  QTest::qWait(200);  // let a possibly stale result arrive too
  // Whatever arrived, what is shown was computed from the document with both strokes.
  EXPECT_EQ(controller->previewRevision(), doc.revision());
}

TEST_F(Controller, TheVariationSliderEndsAtEachSeedsPreview) {
  doc.paintStroke(Layer::Mask, {QPointF(20, 20)}, Brush{10, 1.0});
  const auto preview_for = [&](quint64 seed, quint64 seed_b, double blend) {
    cm::ui::EditParameters p = controller->parameters();
    p.seed = seed;
    p.seed_b = seed_b;
    p.blend = blend;
    p.class_label = 2;  // otherwise the class follows the seed (seed mod classes) and differs too
    controller->setParameters(p);
    QSignalSpy ready(controller.get(), &cm::ui::EditController::previewReady);
    controller->requestPreview();
    EXPECT_TRUE(ready.wait(20000));
    return controller->preview().copy();
  };
  const QImage a = preview_for(3, 0, 0), b = preview_for(4, 0, 0);
  EXPECT_NE(a, b);
  EXPECT_EQ(preview_for(3, 4, 1.0), b);
  const QImage mid = preview_for(3, 4, 0.5);
  EXPECT_NE(mid, a);
  EXPECT_NE(mid, b);
}

TEST_F(Controller, TheEngineMovesToAnotherPrecisionAndRefusesAnImpossibleDevice) {
  QString why;
  EXPECT_FALSE(controller->configureEngine(QStringLiteral("cuda:7"), QStringLiteral("auto"), &why));
  EXPECT_TRUE(why.contains(QStringLiteral("CUDA"))) << why.toStdString();
  QSignalSpy loaded(controller.get(), &cm::ui::EditController::modelLoaded);
  ASSERT_TRUE(controller->configureEngine(QStringLiteral("cpu"), QStringLiteral("bf16"), &why)) << why.toStdString();
  ASSERT_TRUE(loaded.wait(20000));  // the model is reloaded on the new engine
  EXPECT_EQ(controller->status().device, QStringLiteral("cpu (bf16)"));
  doc.paintStroke(Layer::Mask, {QPointF(20, 20)}, Brush{6, 1.0});
  QSignalSpy ready(controller.get(), &cm::ui::EditController::previewReady);
  controller->requestPreview();
  EXPECT_TRUE(ready.wait(20000));
}

}  // namespace
