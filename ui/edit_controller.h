// Between the document and the engine (docs/ARCHITECTURE.md, "The editor"): builds an immutable
// request from the document, submits it to the engine (latest wins), and brings the result back
// onto the UI thread as the preview layer, never showing a result computed for an older state of
// the document. Apply commits the preview to the document as one undoable command.
// No torch here: the header is for widgets.
#pragma once

#include "core/edit/edit_kind.h"

#include <QImage>
#include <QMap>
#include <QObject>
#include <QPoint>
#include <QPointF>
#include <QRect>
#include <QString>

#include <QVector>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace cm::engine {
struct EditRequest;
}

namespace cm::ui {

class Document;
enum class Layer;
struct LayerOverride;  // a layer standing in for the document's own (edit_controller.cpp)

// What the editor asks for, besides the document's layers. Only the editor's own knobs live here;
// an edit's settings and their defaults are the registry's (core/engine/edit_registry.h).
struct EditParameters {
  cm::edit::EditKind kind = cm::edit::EditKind::Inpaint;
  int preview_steps = 1;  // while painting
  int refine_steps = 3;   // when the hand rests
  double strength = -1;   // 0…1 (sampling::sigma_for_strength); < 0 = the edit's default
  QMap<QString, double> settings;  // the edit's settings by their registry names ("grow", "scale"); unset = default
  quint64 seed = 0;
  quint64 seed_b = 1;      // the second variation ...
  double blend = 0;        // ... and how far toward it (0 = seed only, 1 = seed_b only)
  int class_label = -1;    // class-conditional models; −1 = seed mod classes
  QRect selection;  // super-resolution: the selection (image pixels); empty = the whole photo
};

struct EngineStatus {
  QString model, device;
  double last_step_ms = 0;
  int queue_depth = 0;
  bool busy = false;
  qint64 memory_bytes = -1;
};

class EditController : public QObject {
  Q_OBJECT

 public:
  explicit EditController(Document* document, QObject* parent = nullptr);
  ~EditController() override;

  // Starts loading a model on the engine; modelLoaded or failed follows.
  void loadModel(const QString& path);
  QString modelPath() const;

  // Restarts the engine on another device ("auto", "cpu", "cuda", "cuda:N") and precision
  // ("auto", "fp32", "fp16", "bf16") and reloads the model there. On an impossible choice
  // returns false with the reason in *error and keeps the current engine.
  bool configureEngine(const QString& device, const QString& precision, QString* error);
  bool modelReady() const;

  void setParameters(const EditParameters& parameters);
  const EditParameters& parameters() const;

  // Live preview: every change of the mask, sketch or hints asks for a one-step preview, and a
  // refined one follows when nothing changed for `refine_delay_ms`.
  void setLivePreview(bool on);
  void setRefineDelay(int ms);

  // Where the brush last was (image pixels): an edit along a long mask starts its windows there,
  // so the part under the user's eye shows first (core/edit/mask_windows.h).
  void setBrushPosition(QPointF position);
  // Where the user looks (image pixels, asked on each request): the tiles of a super-resolution or
  // a denoise start there, so the part on screen shows first (core/edit/region.h, focus_y).
  void setViewCentreSource(std::function<QPointF()> source);

  // Asks for a preview of the document as it is now (refine: the refine step count).
  void requestPreview(bool refine = false);
  // A one-step preview of the document with `layer` (mask, sketch or hints) replaced by
  // `provisional`: the stroke still under the brush, before it becomes an undo step.
  // `ink`: where it may hold paint (Document::withStroke), null when not known; it is read there.
  void requestProvisionalPreview(Layer layer, const QImage& provisional, QRect ink = QRect());
  // What a change of the document does in live mode, for changes the document does not see (a
  // new selection, new parameters): a one-step preview now, the refined one when nothing else
  // changes for the refine delay.
  void requestLivePreview();
  // Stops every queued and running job (the status bar's Cancel).
  void cancelJobs();
  // Evaluations behind the preview shown (0: none).
  int previewSteps() const;
  bool livePreview() const;

  // A strip of `count` variations (seeds seed+1 … seed+count) at the refine step count; a newer
  // request supersedes an older one but never a preview. variationsReady follows.
  void requestVariations(int count);
  // The variations: whole pictures (no variationOrigin), or for an edit along a mask the part of
  // each that the edit changed, whose top-left lies at variationOrigin() in the photo (four copies
  // of a 50 MP photo were 1.5 GB).
  const QVector<QImage>& variations() const;
  std::optional<QPoint> variationOrigin() const;
  const QVector<quint64>& variationSeeds() const;
  const QVector<QRect>& variationAreas() const;  // where each differs from the photo, in its pixels
  // Makes variation `index` the preview and its seed the current one (no new computation).
  bool adoptVariation(int index);

  bool hasPreview() const;
  // Whether the preview is the whole result: an edit shows its parts as they are done
  // (previewPartial after each batch of them, previewReady at the end), and only a complete
  // preview can be applied.
  bool previewComplete() const;
  // Format_RGBA64 (a partial preview: RGBA8888): the document's size, or another size for super-resolution and generation
  // (applying it then resizes the document).
  const QImage& preview() const;
  // The preview in the canvas's RGBA8888, made on the worker's thread when it came whole (a grey
  // 50 MP photo's colorization: converting it held the UI thread 0.14-0.16 s), taken out; null when it is
  // not the preview's (another preview since, one painted over a copy, or taken already).
  QImage takePreviewInCanvasFormat();
  // Where the picture of the preview layer (preview() where there is one, the photo without)
  // changed since the last call, in image pixels; empty: nowhere. What a view of it draws again
  // (a window of a 50 MP edit, not the whole photo). The photo's own changes are
  // Document::changed's to say.
  QRect takePreviewChange();
  // Where the preview may differ from the photo (empty without one).
  QRect previewArea() const;
  // The document revision the preview was computed from.
  quint64 previewRevision() const;
  // Milliseconds the user waited for the preview shown: from the change of the document (or of
  // the parameters) that asked for it, through the one-step draft and the refine delay, to its
  // first parts for a partial preview, else to the whole result.
  double lastLatencyMs() const;
  // The noise levels f was evaluated at for the last result of the current request (a denoise's:
  // the noise's, estimated or given, then its second pass's when it took two), in [−1, 1] units;
  // empty before one.
  std::vector<double> lastSigmas() const;

  // Commits the preview into the document (one undo step, which also uses up the edit's inputs:
  // the mask, and the sketch for a sketch, the colour hints for a colorization). Only the whole,
  // refined preview of the document as it is (Steps evaluations; a variation): false for none, a
  // partial one or the live preview's one-step draft.
  bool applyPreview();
  // What Apply does: commits the refined preview when it is there; while it is still coming (or
  // only the draft is), asks for it at once and commits it when it arrives (applied() follows),
  // unless the document changes, the preview is discarded or the work is cancelled first.
  enum class ApplyOutcome { Applied, WhenReady, Nothing };
  ApplyOutcome requestApply();
  bool applyPending() const;
  // The preview goes, and the work still computing it stops.
  void discardPreview();
  // Esc: the preview and the edit's inputs (as Apply uses them up) go, as one undo step.
  void discardEdit();

  EngineStatus status() const;

 Q_SIGNALS:
  void modelLoaded(const QString& name);
  void previewReady();    // a whole preview: what Apply commits
  void previewPartial();  // parts of a preview still being computed are shown (previewComplete() is false)
  void variationsReady();
  void previewCleared();
  void applied();                         // a pending Apply committed its preview
  void applyPendingChanged(bool pending);  // an Apply waits for the refined preview, or no longer does
  void progress(int step, int total);
  void busyChanged(bool busy);
  void failed(const QString& message);

 private:
  // `images`: the results, or with `changed` the part of the one result there, whose top-left
  // pixel lies at `origin` in the photo (result_part). `areas`: where each differs from the photo,
  // in the photo's pixels (its whole rectangle for another size).
  using ResultHandler = std::function<void(const QVector<QImage>& images, const QVector<QRect>& areas, QPoint origin,
                                           const QString& error, double ms)>;
  // Submits to the engine; `handle` runs on the UI thread if the job is still the latest in *latest.
  // `changed`, when given, is filled on the worker thread while the job runs: where its result
  // may differ from `source`.
  // `for_canvas`: a whole result (no `changed`) of 1 MP or more is also made in the canvas's
  // format there, for takePreviewInCanvasFormat.
  void submit(engine::EditRequest request, ResultHandler handle, const QImage& source, std::uint64_t* latest,
              std::shared_ptr<const QRect> changed = nullptr, bool for_canvas = false);
  // False when there is nothing to preview (no model, nothing painted that the edit needs).
  // same_wait: the user's wait began with an earlier request (the draft before a refinement).
  bool request_preview(bool refine, const LayerOverride* over, bool same_wait);
  void set_apply_pending(bool pending);
  // The live preview a change of the inputs asks for, once the change is whole (the next turn of
  // the event loop, or an Apply before it).
  void request_after_change();
  // The refinement of the document as it is now is on its way (the latest job), or is the whole
  // preview shown: what Apply commits.
  bool refinement_coming() const;
  bool refinement_shown() const;
  // A part of a preview still being computed (region.h, RegionOptions::on_window): pasted into the
  // partial preview (a copy of the photo, or the `whole` enlarged start a super-resolution sends
  // first) when its job is still the latest and the document has not changed since.
  void paste_window(std::uint64_t job, quint64 revision, QPoint at, const QImage& pixels, double ms, int steps, bool whole);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cm::ui
