// MainWindow's toolbars and docks: tools, brush and mask, variations.
#include "ui/main_window.h"

#include "cmedit/build_config.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/engine/edit_registry.h"
#include "ui/canvas.h"
#include "ui/document.h"
#include "ui/edit_controller.h"
#include "ui/edit_toolbar.h"
#include "ui/image_rows.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include <QAction>
#include <QActionGroup>
#include <QColorDialog>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QKeyEvent>
#include <QMimeData>
#include <QFormLayout>
#include <QInputDialog>
#include <QGridLayout>
#include <QIcon>
#include <QPixmap>
#include <QSettings>
#include <QToolButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QDesktopServices>
#include <QTimer>
#include <QUrl>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QImage>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPainter>
#include <QPushButton>
#include <QRandomGenerator>
#include <QSpinBox>
#include <QStatusBar>
#include <QToolBar>
#include <QUndoStack>
#include <QUndoView>

namespace cm::ui {

namespace {

// A denoise's Noise level: 0 is "auto", and a step out of auto starts from the level it read
// last (the "estimate" property, set when a denoise comes back), not from 0.
class NoiseLevelBox : public QDoubleSpinBox {
 public:
  using QDoubleSpinBox::QDoubleSpinBox;
  void stepBy(int steps) override {
    const double estimate = property("estimate").toDouble();
    if (value() == 0 && steps != 0 && estimate > 0) setValue(std::max(1.0, std::round(estimate) + steps));
    else QDoubleSpinBox::stepBy(steps);
  }
};

// A registry line ("a smooth fill from …") as a tooltip: a capital first.
QString sentence(const std::string& line) {
  QString s = QString::fromStdString(line);
  if (!s.isEmpty()) s[0] = s[0].toUpper();
  return s;
}

}  // namespace

void MainWindow::buildToolbar() {
  QToolBar* bar = addToolBar(tr("Tools"));
  bar->setObjectName(QStringLiteral("tools"));
  auto* tools = new QActionGroup(this);
  const auto addTool = [&](const QString& name, QKeySequence key, Tool tool) {
    QAction* a = bar->addAction(name, this, [this, tool] { setTool(tool); });
    a->setCheckable(true);
    a->setShortcut(key);
    a->setChecked(tool == tool_);
    tools->addAction(a);
    tool_actions_[int(tool)] = a;
  };
  addTool(tr("Mask brush"), QKeySequence(Qt::Key_B), Tool::MaskBrush);
  addTool(tr("Sketch brush"), QKeySequence(Qt::Key_S), Tool::SketchBrush);
  addTool(tr("Hint brush"), QKeySequence(Qt::Key_H), Tool::HintBrush);
  addTool(tr("Select"), QKeySequence(Qt::Key_M), Tool::Select);
  eraser_action_ = bar->addAction(tr("Eraser"));
  eraser_action_->setCheckable(true);
  eraser_action_->setShortcut(QKeySequence(Qt::Key_E));
  QAction* smaller = new QAction(this), *larger = new QAction(this), *swap = new QAction(this);
  smaller->setShortcut(QKeySequence(Qt::Key_BracketLeft));
  larger->setShortcut(QKeySequence(Qt::Key_BracketRight));
  swap->setShortcut(QKeySequence(Qt::Key_X));
  addActions({smaller, larger, swap});
  connect(smaller, &QAction::triggered, this, [this] { brush_diameter_ = std::max(1.0, brush_diameter_ / 1.25); updateBrush(); });
  connect(larger, &QAction::triggered, this, [this] { brush_diameter_ = std::min(2000.0, brush_diameter_ * 1.25); updateBrush(); });
  connect(swap, &QAction::triggered, this, [this] { std::swap(foreground_, background_); updateBrush(); });
  connect(eraser_action_, &QAction::toggled, this, [this] { updateBrush(); });
  colour_action_ = bar->addAction(tr("Colour…"), this, [this] {
    setForeground(QColorDialog::getColor(foreground_, this, tr("Brush colour")));
  });
  colour_action_->setToolTip(tr("Colour of the sketch and hint brushes (X swaps it with the second colour)"));
  if (auto* button = qobject_cast<QToolButton*>(bar->widgetForAction(colour_action_)))
    button->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);  // the swatch and its name

  // The edit and its settings on a row of their own: beside the tools they overflowed a 1280-px
  // screen, and the blend slider, Apply and Discard hid behind the toolbar's ».
  addToolBarBreak();
  edit_bar_ = new EditToolBar(this);
  addToolBar(edit_bar_);
  edit_bar_->addSeparator();
  // The menu's full names, one word each on the toolbar: with the long ones the row overflowed a
  // 1200-px window and Discard hid behind its » (issue 33, finding 11).
  apply_action_->setIconText(tr("Apply"));
  discard_action_->setIconText(tr("Discard"));
  edit_bar_->addAction(apply_action_);
  edit_bar_->addAction(discard_action_);
  connect(edit_bar_, &EditToolBar::changed, this, [this](bool preview) {
    pushParameters();
    if (preview) requestPreviewOfChoice();
  });
  pushParameters();
}

void MainWindow::buildBrushDock() {
  auto* dock = new QDockWidget(tr("Brush and mask"), this);
  dock->setObjectName(QStringLiteral("brush"));
  auto* panel = new QWidget(dock);
  auto* form = brush_form_ = new QFormLayout(panel);
  diameter_box_ = new QDoubleSpinBox(panel);
  diameter_box_->setRange(1, 2000);
  diameter_box_->setDecimals(1);  // [ and ] scale by 1.25: a tenth of a pixel is detail enough
  diameter_box_->setSuffix(tr(" px"));
  hardness_slider_ = new QSlider(Qt::Horizontal, panel);
  hardness_slider_->setRange(0, 100);
  hardness_slider_->setValue(80);
  // Grow and Feather take their ranges from the registry's settings, the one home of those limits.
  const engine::EditSpec& inpaint = engine::spec_of(edit::EditKind::Inpaint);
  const auto setRange = [&inpaint](QSpinBox* box, const char* name) {
    const engine::EditSetting& setting = *engine::find_setting(inpaint, name);
    box->setRange(int(setting.min), int(setting.max));
  };
  grow_box_ = new QSpinBox(panel);
  setRange(grow_box_, "grow");
  grow_box_->setValue(2);
  grow_box_->setSuffix(tr(" px"));
  grow_box_->setToolTip(tr("Regenerate this many pixels beyond the mask too"));
  feather_box_ = new QSpinBox(panel);
  setRange(feather_box_, "feather");
  feather_box_->setValue(8);
  feather_box_->setSuffix(tr(" px"));
  feather_box_->setToolTip(tr("Fade the edit into the photo over twice this many pixels"));
  form->addRow(tr("Size ( [ ] )"), diameter_box_);
  form->addRow(tr("Hardness"), hardness_slider_);
  // Inpainting's start, the registry's --fill choices: auto takes the exemplar fill (seconds on a
  // CPU, once per mask) for large holes when the hand rests; the live preview always the quick one.
  fill_box_ = new QComboBox(panel);
  const engine::EditSetting& fill = *engine::find_setting(inpaint, "fill");
  for (int i = 0; i <= int(fill.max); ++i) {
    fill_box_->addItem(QString::fromStdString(engine::choice_name(fill, i)), i);
    fill_box_->setItemData(i, sentence(engine::choice_help(fill, i)), Qt::ToolTipRole);
  }
  fill_box_->setToolTip(sentence(fill.help));
  form->addRow(tr("Grow mask"), grow_box_);
  form->addRow(tr("Feather"), feather_box_);
  form->addRow(tr("Fill from"), fill_box_);
  // A denoise's level (the registry's --sigma): auto reads it from the photo, or from the painted
  // part; no one level suits a flat sky and a leaf's texture alike (docs/QUALITY.md, "Denoising").
  const engine::EditSetting& sigma = *engine::find_setting(engine::spec_of(edit::EditKind::Denoise), "sigma");
  noise_box_ = new NoiseLevelBox(panel);
  noise_box_->setRange(sigma.min, std::min(sigma.max, 100.0));
  noise_box_->setDecimals(0);
  noise_box_->setSpecialValueText(tr("auto"));
  noise_box_->setSuffix(tr(" levels"));
  noise_box_->setToolTip(tr("The noise to remove, in 8-bit levels. auto reads it from the photo (from the mask, when one is "
                            "painted). Raise it when a smooth part keeps a fine grain; lower it when texture goes."));
  form->addRow(tr("Noise level"), noise_box_);
  dock->setWidget(panel);
  addDockWidget(Qt::RightDockWidgetArea, dock);
  connect(diameter_box_, &QDoubleSpinBox::valueChanged, this, [this](double d) {
    if (std::abs(d - brush_diameter_) > 1e-9) setBrushDiameter(d);
  });
  connect(grow_box_, &QSpinBox::valueChanged, this, [this] { pushParameters(); controller_->requestPreview(); });
  connect(feather_box_, &QSpinBox::valueChanged, this, [this] { pushParameters(); controller_->requestPreview(); });
  connect(fill_box_, &QComboBox::currentIndexChanged, this, [this] { pushParameters(); controller_->requestPreview(); });
  connect(noise_box_, &QDoubleSpinBox::valueChanged, this, [this] { pushParameters(); controller_->requestPreview(); });
  connect(edit_bar_->kindBox(), &QComboBox::currentIndexChanged, this, &MainWindow::showEditSettings);
  // A denoise of a whole 12 MP photo is minutes on a CPU, of a painted sky seconds: say so when it
  // is chosen with nothing painted.
  connect(edit_bar_->kindBox(), &QComboBox::currentIndexChanged, this, [this] {
    if (edit_bar_->kind() == edit::EditKind::Denoise && !document_->isEmpty() && document_->inkRect(Layer::Mask).isEmpty())
      statusBar()->showMessage(tr("Denoising the whole photo. Paint with the mask brush to denoise only there (much faster)."), 8000);
  });
  showEditSettings();
}

void MainWindow::showEditSettings() {
  // From the registry, where each edit lists its settings: a row for a setting the edit lacks
  // would be a control that changes nothing (issue 33, finding 12).
  const engine::EditSpec& spec = engine::spec_of(edit_bar_->kind());
  if (noise_box_) {  // until this edit reads a level
    noise_box_->setSpecialValueText(tr("auto"));
    noise_box_->setProperty("estimate", 0.0);
  }
  for (const auto& [field, name] : {std::pair<QWidget*, const char*>{grow_box_, "grow"}, {feather_box_, "feather"}, {fill_box_, "fill"},
                                    {noise_box_, "sigma"}})
    brush_form_->setRowVisible(field, engine::find_setting(spec, name) != nullptr);
  // A denoise's variations would be the same picture four times, at four times its minutes.
  if (variations_button_) variations_button_->setEnabled(!spec.one_evaluation);
}

namespace {

constexpr int kThumbnail = 96;  // a variation's button shows it this large

// The part of the variations their thumbnails show: where they differ from the photo, with as much
// again around, square and at least a thumbnail's side, within `image`. The whole of a 50 MP photo
// in 96 px showed a 160-px dab as less than a pixel: four thumbnails of the same photo.
QRect thumbnail_area(const QVector<QRect>& areas, const QRect& image) {
  QRect changed;
  for (const QRect& a : areas) changed |= a;
  if (changed.isEmpty()) return image;
  const int side = std::min({std::max({kThumbnail, 2 * changed.width(), 2 * changed.height()}), image.width(), image.height()});
  QRect area(0, 0, side, side);
  area.moveCenter(changed.center());
  area.moveLeft(std::clamp(area.left(), image.left(), image.right() + 1 - side));
  area.moveTop(std::clamp(area.top(), image.top(), image.bottom() + 1 - side));
  return area | changed;  // a long stroke's changes wider than the photo is high stay whole
}

}  // namespace

void MainWindow::buildVariationsDock() {
  constexpr int kCount = 4;
  auto* dock = new QDockWidget(tr("Variations"), this);
  dock->setObjectName(QStringLiteral("variations"));
  auto* panel = new QWidget(dock);
  auto* layout = new QGridLayout(panel);
  auto* show = variations_button_ = new QPushButton(tr("Show %1 variations").arg(kCount), panel);
  show->setToolTip(tr("The current edit with the next %1 seeds; click one to keep it").arg(kCount));
  layout->addWidget(show, 0, 0, 1, 2);
  for (int i = 0; i < kCount; ++i) {
    auto* button = new QToolButton(panel);
    button->setIconSize(QSize(kThumbnail, kThumbnail));
    button->setMinimumSize(104, 104);
    button->setEnabled(false);
    layout->addWidget(button, 1 + i / 2, i % 2);
    variation_buttons_.push_back(button);
    connect(button, &QToolButton::clicked, this, [this, i] {
      if (!controller_->adoptVariation(i)) return;
      edit_bar_->setSeed(int(controller_->parameters().seed));  // the preview is already there: no new request
    });
  }
  dock->setWidget(panel);
  addDockWidget(Qt::RightDockWidgetArea, dock);
  connect(show, &QPushButton::clicked, this, [this] { controller_->requestVariations(int(variation_buttons_.size())); });
  showEditSettings();  // the button follows the current edit
  connect(controller_, &EditController::variationsReady, this, [this] {
    const QVector<QImage>& images = controller_->variations();
    // A variation along a mask is the part it changed (EditController::variations): its thumbnail
    // is that part over the photo around it.
    const QImage& photo = document_->photo();
    const std::optional<QPoint> origin = controller_->variationOrigin();
    const QRect whole = origin ? photo.rect() : images.isEmpty() ? QRect() : images[0].rect();
    const QRect area = images.isEmpty() ? QRect() : thumbnail_area(controller_->variationAreas(), whole);
    const auto thumbnail = [&](const QImage& image) {
      if (!origin) return image.copy(area);
      QImage out = photo.copy(area).convertToFormat(QImage::Format_RGBA64);
      const QRect in = area & QRect(*origin, image.size());
      if (!image.isNull() && !in.isEmpty()) copy_block(image.convertToFormat(out.format()), in.topLeft() - *origin, out, in.translated(-area.topLeft()));
      return out;
    };
    for (int i = 0; i < variation_buttons_.size(); ++i) {
      const bool have = i < images.size();
      variation_buttons_[i]->setEnabled(have);
      variation_buttons_[i]->setIcon(have ? QIcon(QPixmap::fromImage(thumbnail(images[i]).convertToFormat(QImage::Format_RGBA8888)
                                                                        .scaled(kThumbnail, kThumbnail, Qt::KeepAspectRatio, Qt::SmoothTransformation)))
                                          : QIcon());
      variation_buttons_[i]->setToolTip(have ? tr("seed %1").arg(controller_->variationSeeds()[i]) : QString());
    }
  });
}

}  // namespace cm::ui
