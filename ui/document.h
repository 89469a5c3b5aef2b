// The open photo and everything painted on it, with undo. Knows nothing of widgets (Krita's
// rule): tools change it only through its methods, each one command on its QUndoStack, so every
// brush stroke, clear and applied edit can be undone and redone to the exact pixels.
#pragma once

#include <QColor>
#include <QImage>
#include <QObject>
#include <QPointF>
#include <QRect>
#include <QString>
#include <QVector>

#include <optional>

class QUndoStack;

namespace cm::ui {

enum class Layer {
  Photo,    // Format_RGBA64: 16 bits per channel, exact for 8-bit sources too
  Mask,     // Format_Grayscale8: 255 = edit, 0 = keep
  Strokes,  // Format_ARGB32_Premultiplied: the sketch painted over the photo; transparent = none
  Hints,    // Format_ARGB32_Premultiplied: colour hints for colorization; opaque = hint
};

struct Brush {
  double diameter = 24;  // image pixels
  double hardness = 0.8; // 1: hard edge, 0: soft from the centre
  QColor color = Qt::white;
  bool erase = false;
};

// Where a stroke through `points` puts its brush's dabs: a quarter of the radius apart, so that
// the line is continuous at any speed (the document paints them; the canvas shows a stroke in
// progress the same way).
QVector<QPointF> dabs_along(const QVector<QPointF>& points, double radius);

class Document : public QObject {
  Q_OBJECT

 public:
  explicit Document(QObject* parent = nullptr);
  ~Document() override;

  // A new document: the photo (any format; converted to RGBA64), its file's bit depth and path.
  // Clears the other layers and the history.
  void reset(const QImage& photo, int bit_depth, const QString& path);
  bool isEmpty() const { return photo_.isNull(); }

  const QImage& layer(Layer which) const;
  const QImage& photo() const { return photo_; }
  // The photo as opened (reset), kept through every edit for the compare key: shares its pixels
  // with photo() until the first edit writes a copy.
  const QImage& original() const { return original_; }
  // Where the photo may differ from original(): every part written since it was opened (an undo
  // too), or all of it once its size changed. The compare key redraws only this.
  QRect editedRect() const { return edited_; }
  const QImage& mask() const { return mask_; }
  int bitDepth() const { return bit_depth_; }
  QString path() const { return path_; }
  QSize size() const { return photo_.size(); }
  // Whether the photo is grey: every pixel's red, green and blue within 1/255 of their mean (a grey
  // photo saved as RGB, with JPEG's slight chroma noise). Worked out once per version of the photo.
  bool photoIsGrey() const;
  // Whether every pixel of the photo is opaque (worked out once per version of the photo).
  bool photoIsOpaque() const;
  // A rectangle that holds every painted pixel of the mask, strokes or hints layer (maybe more,
  // never less; empty when the layer is blank): what draws or reads a layer of a large photo
  // need not touch the rest.
  QRect inkRect(Layer which) const;
  // Grows with every change (undo and redo included): results computed for an older revision are stale.
  quint64 revision() const { return revision_; }
  // Whether the photo differs from the one opened or last exported (markPhotoSaved): painting and
  // discarding a mask, sketch or hints changes no pixel of it, undoing an applied edit brings it
  // back. Each version of the photo has its own number, kept by undo and redo.
  bool photoModified() const { return photo_version_ != saved_version_; }
  // `version` of the photo is on disk now (an export that began before later changes wrote the
  // version it began with; undoing them brings back an exported photo). False, changing nothing,
  // when it is a version of a photo opened before this one.
  bool markPhotoSaved(quint64 version);
  void markPhotoUnsaved();  // e.g. restored from an autosave: not on disk as it is
  quint64 photoVersion() const { return photo_version_; }
  // Used by the undo commands: the version the photo they put back has (no new command).
  void setPhotoVersion(quint64 version);

  QUndoStack* undoStack() const { return undo_; }

  // One stroke (dabs along the points, in image pixels) on the mask, strokes or hints layer.
  void paintStroke(Layer layer, const QVector<QPointF>& points, const Brush& brush);
  // The layer as it would be with that stroke, without changing the document (no command): what
  // a preview shows while the brush is still down. `ink`, when given, receives where it may hold
  // paint (inkRect with the stroke's pixels).
  QImage withStroke(Layer layer, const QVector<QPointF>& points, const Brush& brush, QRect* ink = nullptr) const;
  void clearLayer(Layer layer);
  void invertMask();
  // Replaces the photo with an edit's result (same size), e.g. an applied preview. The undo step
  // holds only the rectangle where the pixels differ (a masked edit on a 50 MP photo: its box, not
  // twice 390 MB), and `changed` names it; a result equal to the photo records nothing. `within`:
  // where the caller knows the result may differ (it equals the photo outside; only that is
  // read); none: anywhere.
  void replacePhoto(const QImage& result, const QString& description, std::optional<QRect> within = std::nullopt);
  // The same for a result's part: the photo's pixels under `part` placed at `at` become its own,
  // recorded where they differ.
  void replacePhotoPart(const QImage& part, QPoint at, const QString& description);
  // Replaces the photo with one of another size (super-resolution of a selection): the other
  // layers start empty at the new size. One undo step, which brings all layers back.
  void replaceWithResized(const QImage& result, const QString& description);

  struct Layers {
    QImage photo, mask, strokes, hints;
    quint64 photo_version = 0;
  };
  // Used by the undo commands: swaps in a whole set of layers (no new command).
  void setLayers(const Layers& layers);

  // Used by the undo commands: puts `pixels` into `layer` at `at` (no new command).
  void writePixels(Layer layer, const QImage& pixels, QPoint at);

 Q_SIGNALS:
  void changed(cm::ui::Layer layer, QRect area);
  void documentReset();  // new document or new size: views refit
  void photoModifiedChanged(bool modified);

 private:
  QImage& mutableLayer(Layer which);
  void pushChange(Layer layer, const QImage& after, QRect area, const QString& text);

  QImage photo_, mask_, strokes_, hints_;
  QImage original_;
  QRect edited_;  // editedRect
  QRect ink_[3];  // inkRect of the mask, strokes and hints
  mutable qint64 grey_key_ = -1;  // the photo's QImage::cacheKey() when grey_ was worked out
  mutable bool grey_ = false;
  mutable qint64 opaque_key_ = -1;  // likewise for opaque_
  mutable bool opaque_ = true;
  int bit_depth_ = 8;
  QString path_;
  quint64 revision_ = 0;
  quint64 photo_version_ = 0, saved_version_ = 0, last_version_ = 0;
  quint64 opened_version_ = 0;  // the photo's version at reset: every later one is of the same photo
  QUndoStack* undo_;
};

}  // namespace cm::ui
