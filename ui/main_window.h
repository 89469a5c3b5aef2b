// The editor's main window: the document, the canvas, tools, edit parameters, live preview,
// apply/discard, undo history and export. Widgets only hold views of the Document; every change
// goes through it (and so into the undo history).
#pragma once

#include "core/imageio/file_metadata.h"
#include "ui/autosave_photo.h"
#include "ui/document.h"
#include "ui/export_options.h"

#include <QColor>
#include <QElapsedTimer>
#include <QMainWindow>
#include <QMessageBox>
#include <QLineF>
#include <QPointF>
#include <QRect>
#include <QString>
#include <QVector>

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <vector>

class QAction;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QPushButton;
class QLabel;
class QMenu;
class QSlider;
class QSpinBox;
class QTimer;
class QToolButton;

namespace cm::ui {

class EditToolBar;

class Canvas;
class EditController;

enum class Tool { MaskBrush, SketchBrush, HintBrush, Select };

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Loads and shows a photo, read on another thread while the window goes on drawing (after
  // 0.4 s a dialog says so, with Cancel). On failure or Cancel keeps the current photo, shows the
  // reason in the status bar and returns false; lastError() then holds the message.
  bool openImage(const QString& path);
  // What File › Open, recent files and drops do: asks first when the photo has unexported
  // changes (Export… / Don't export / Cancel), then opens. False when the user kept the current photo or
  // the open failed (lastError() says which).
  bool requestOpen(const QString& path);
  // True when the current work may be replaced: nothing unexported, or the user exported it or
  // chose to discard it.
  bool confirmLosingChanges();
  // Answers the unsaved-changes question instead of a dialog (tests); empty: ask the user.
  using UnsavedPrompt = std::function<QMessageBox::StandardButton(const QString& question)>;
  void setUnsavedChangesPrompt(UnsavedPrompt prompt) { unsaved_prompt_ = std::move(prompt); }
  // Where warnings go instead of a dialog (tests); empty: a warning dialog.
  using WarningSink = std::function<void(const QString& title, const QString& text)>;
  void setWarningSink(WarningSink sink) { warning_sink_ = std::move(sink); }
  // The photo named on the command line: like File › Open, a failure is shown, not only logged.
  bool openFromCommandLine(const QString& path);
  // Starts loading a model (folder, model.json, .safetensors, .pt); the status bar reports.
  void loadModel(const QString& path);
  // Writes the document's photo (16-bit where the source was and the format allows). Atomic;
  // false with lastError() on failure. Asks nothing: the dialog path asks before overwriting.
  // bit_depth: 8 or 16 where the format holds it (PNG, TIFF, JPEG XL); 0: the photo's own.
  // The opened file's EXIF, XMP and colour profile go along (strip_metadata: not the EXIF and
  // XMP; as_srgb: sRGB pixels tagged sRGB instead of the photo's own profile). Written on another
  // thread, the window drawing meanwhile (a dialog after 0.4 s).
  bool exportTo(const QString& path, int jpeg_quality = 95, int bit_depth = 0, bool strip_metadata = false, bool as_srgb = false);
  // What Export… does: the photo as it is now is written on another thread while the user goes on
  // editing; the status bar counts the seconds and says when it is done, a dialog shows a failure.
  // The photo then counts as exported while it is the version written. False (lastError()) when it
  // cannot begin. One export at a time: a second waits for the first before it begins.
  bool exportInBackground(const QString& path, int jpeg_quality = 95, int bit_depth = 0, bool strip_metadata = false, bool as_srgb = false);
  bool exporting() const { return export_.has_value(); }
  // Waits for a running export (the window drawing, a dialog after 0.4 s): its result, true when
  // none runs. Closing the window and opening another photo wait so.
  bool waitForExport();

  QString lastError() const { return last_error_; }
  QString currentPath() const { return current_path_; }

  Canvas* canvas() const { return canvas_; }
  Document* document() const { return document_; }
  EditController* controller() const { return controller_; }
  QAction* overlayAction() const { return overlay_action_; }
  QAction* maskAction() const { return mask_action_; }  // View › Show mask, sketch and hints (Ctrl+M)
  QAction* discardAction() const { return discard_action_; }
  QAction* exportAction() const { return export_action_; }
  QToolButton* cancelButton() const { return cancel_button_; }
  QAction* colourAction() const { return colour_action_; }
  QString shortcutList() const;  // Help › Keyboard shortcuts: every action's keys, and the mouse's
  QAction* applyAction() const { return apply_action_; }
  QAction* undoAction() const { return undo_action_; }
  QAction* redoAction() const { return redo_action_; }
  QSlider* blendSlider() const;
  EditToolBar* editBar() const { return edit_bar_; }
  QColor foreground() const { return foreground_; }
  void setForeground(const QColor& colour);  // the sketch and hint brushes' colour, as the Colour… dialog sets it
  const QVector<QToolButton*>& variationButtons() const { return variation_buttons_; }
  int seed() const;
  void setTool(Tool tool);

  // Autosave: the working document (photo, mask, sketch, hints) goes to the user's state folder
  // when the work pauses (5 s after the last change) and every minute while it has unexported
  // changes, so a crash or a kill loses at most the last few seconds.
  static QString autosaveFolder();
  // Writes the autosave now, on this thread, after any still being written (the timers write
  // theirs on another thread, autosaveInBackground); false when there was nothing new or it failed.
  bool autosaveNow();
  void setAutosaveDelay(int ms);
  bool autosaveIsCurrent() const;  // the autosave holds the document's latest revision
  bool hasAutosave() const;
  bool restoreAutosave();
  void discardAutosave();
  // Asks the user whether to restore an autosaved document found at start.
  void offerAutosave();
  struct AutosaveSet;  // what one autosave writes (main_window_autosave.cpp)
  void setBrushDiameter(double image_pixels);

 private Q_SLOTS:
  void chooseAndOpenImage();
  void chooseAndLoadModel();
  void chooseAndExport();
  void showAbout();

 private:
  // The constructor's parts, in the order it calls them (main_window_setup.cpp unless noted).
  void buildStatusBar();
  void buildMenus();           // main_window.cpp
  void buildToolbar();         // main_window_panels.cpp, as are the two docks after it
  void buildBrushDock();
  void buildVariationsDock();
  void buildHistoryDock();
  void connectDocument();
  void connectCanvas();
  void connectController();  // the engine's failures (one connection), models, step times
  void startOverlayTimer();
  void startAutosave();
  void restoreBrush();          // the last session's brush diameter
  void configureSavedEngine();  // ... device and precision
  void loadStartupModel();      // ... model, or the built-in one
  void restoreWindow();         // ... window geometry (1200 × 800 the first time)
  void showEditSettings();  // the brush panel's rows of the settings the current edit has
  void buildCompareMenu(QMenu* view);
  // What the canvas shows while `\` is held: the photo as opened (scaled to the document's size
  // after a super-resolution) or the last applied state, as View › Compare with says.
  QImage compareReference() const;
  // The canvas's picture made again: all of it, or only `area` (image pixels) and where the
  // preview changed since (EditController::takePreviewChange).
  void refreshCanvas();
  void refreshCanvas(QRect area);
  // The selection and the stroke's opacity (the tool, the preview).
  void refreshCanvasOverlays();
  void refreshCompared();  // the compare key went down or up: redraws what the reference changes
  void updateBrush();
  void pushParameters();
  void requestPreviewOfChoice();  // the preview a new edit, setting or model asks for
  void onStroke(const QVector<QPointF>& points);
  void revealMaskBeingPainted();
  Brush currentBrush(Layer* layer) const;  // the brush of the current tool, and the layer it paints
  void updateOverlayStatus();
  void updateImageInfo();  // the status bar's size, bit depth, grey or RGB, alpha: of the photo as it is now
  // The engine's part of the status bar: "working…" with the seconds so far from the first moment
  // (and the steps or parts once the engine counts them, and about how long is left), then the
  // time the user waited.
  void connectWorkStatus();
  void showWork();  // "working…": its count, its seconds, the time left
  // Return and Escape in the window's number and text fields (the brush size, strength, seed…)
  // belong to the field: they end the typing and give the keyboard back to the canvas, instead of
  // reaching Apply and Discard, whose shortcuts they are (eventFilter).
  void keepFieldKeys();
  void rememberRecent(const QString& path);
  void rebuildRecentMenu();
  // Exports (main_window_export.cpp).
  struct ExportTarget {
    QString path;
    ExportChoices choices;
  };
  std::optional<ExportTarget> chooseExport();  // the file dialog, then the export's questions
  bool startExport(const QString& path, const ExportChoices& choices, bool in_background);
  void watchExport();   // export_watch_'s tick: the seconds so far, or the end
  bool finishExport();  // the written export's result: the photo marked exported, or the failure

 protected:
  void closeEvent(QCloseEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:

  Document* document_ = nullptr;
  EditController* controller_ = nullptr;
  Canvas* canvas_ = nullptr;
  QAction* overlay_action_ = nullptr;
  QAction* apply_action_ = nullptr;
  QAction* discard_action_ = nullptr;
  QAction* undo_action_ = nullptr;
  QAction* mask_action_ = nullptr;
  QAction* export_action_ = nullptr;
  QToolButton* cancel_button_ = nullptr;  // in the status bar while work lasts over 0.5 s
  QAction* colour_action_ = nullptr;      // shows both brush colours as its icon
  QAction* tool_actions_[4] = {};         // by Tool
  QLabel* zoom_info_ = nullptr;
  QTimer* cancel_soon_ = nullptr;
  QTimer* work_tick_ = nullptr;  // the seconds of "working…", while work runs
  QElapsedTimer work_clock_;
  QElapsedTimer count_clock_;  // since the current job's count began (a newer job starts its own)
  bool working_ = false;
  int work_step_ = 0, work_total_ = 0;
  // While the button is down: the stroke so far, previewed at most every kProvisionalMs.
  static constexpr int kProvisionalMs = 120;
  QVector<QPointF> provisional_stroke_;
  QTimer* provisional_timer_ = nullptr;
  QAction* redo_action_ = nullptr;
  UnsavedPrompt unsaved_prompt_;
  WarningSink warning_sink_;
  void warn(const QString& title, const QString& text);
  void openAsking(const QString& path);  // File › Open, recent files, drops: ask, open, show a failure
  enum class Opened { Yes, Failed, Cancelled };
  Opened open(const QString& path);      // openImage's work; a cancel is no failure to show
  void showEngineReady();                // "model on device" in the status bar
  QAction* eraser_action_ = nullptr;
  EditToolBar* edit_bar_ = nullptr;
  QDoubleSpinBox* diameter_box_ = nullptr;
  QSlider* hardness_slider_ = nullptr;
  QSpinBox* grow_box_ = nullptr;
  QSpinBox* feather_box_ = nullptr;
  QComboBox* fill_box_ = nullptr;
  QDoubleSpinBox* noise_box_ = nullptr;  // a denoise's level in 8-bit levels; 0 ("auto"): estimated
  QFormLayout* brush_form_ = nullptr;
  QPushButton* variations_button_ = nullptr;  // "Show N variations"
  QVector<QToolButton*> variation_buttons_;
  QRect selection_;
  QLabel* image_info_ = nullptr;
  QLabel* engine_info_ = nullptr;
  Tool tool_ = Tool::MaskBrush;
  double brush_diameter_ = 24;
  QColor foreground_ = QColor(220, 40, 40), background_ = Qt::white;
  bool has_alpha_ = false;
  imageio::FileMetadata photo_metadata_;  // the opened file's EXIF, XMP and colour profile, for the export
  QString photo_format_;                  // "JPEG", "HEIC", "RAW (Canon EOS 5D)"
  bool canvas_with_preview_ = false;  // whether the canvas's picture was made over a preview
  // The mask's and the sketch's edges as the canvas draws them over a preview, made for this
  // revision of the document.
  QVector<QLineF> painted_outline_;
  quint64 painted_outline_revision_ = ~quint64(0);
  bool showing_original_ = false;  // while the compare key (backslash) is held
  QAction* compare_opened_action_ = nullptr;  // View › Compare with › The photo as opened
  QMenu* recent_menu_ = nullptr;
  QVector<float> step_ms_;
  QString last_engine_error_;
  quint64 autosaved_revision_ = 0;
  // What the autosave holds of the photo (the file or photo.png, and parts over it): a mask stroke
  // writes none of it, an Apply the box it changed (ui/autosave_photo.h).
  AutosavedPhoto autosaved_photo_;
  quint64 autosave_ticket_ = 0;      // grows when an autosave taken before no longer counts
  std::future<void> autosave_writing_;  // the timers' autosave, written on another thread
  std::shared_ptr<const AutosaveSet> takeAutosaveSet();
  static bool writeAutosaveSet(const AutosaveSet& s, qint64* ms);
  void finishAutosave(const AutosaveSet& s, bool ok, qint64 ms);
  void autosaveInBackground();
  void waitForAutosave();
  // The photo version that is the opened file's pixels (0: none, e.g. restored edits): an
  // autosave then names the file instead of writing the photo, so the first stroke on a 50 MP
  // photo does not freeze the window for the 10 s a 16-bit PNG of it takes.
  quint64 opened_photo_version_ = 0;
  QTimer* autosave_soon_ = nullptr;
  QString current_path_;
  QString last_error_;
  struct Exporting {
    std::future<void> writing;
    QString path;
    quint64 photo_version = 0;  // the version written
    int undo_index = 0;         // the history's place when it began
    bool in_background = false;
    QElapsedTimer clock;
  };
  std::optional<Exporting> export_;
  QTimer* export_watch_ = nullptr;  // a running export's tick
  QLabel* export_info_ = nullptr;   // "Exporting NAME… 4 s" in the status bar
  std::vector<std::future<void>> abandoned_reads_;  // opens cancelled while their file was read
  QString reading_;                 // the file openImage is waiting for
  QImage opened_picture_;           // the photo just read in the canvas's format, made by the reading
  qint64 opened_picture_of_ = 0;    // thread, of the image with this cacheKey(): refreshCanvas's once
  bool close_after_read_ = false;   // the window was closed meanwhile: it closes after
};

// Versions of every component of this build, one per line ("LibTorch  1.13.0  (…)").
QStringList buildComponentLines();

}  // namespace cm::ui
