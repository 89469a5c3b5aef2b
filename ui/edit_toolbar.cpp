#include "ui/edit_toolbar.h"

#include "core/engine/edit_registry.h"
#include "core/sampling/schedule.h"

#include <algorithm>

#include <QComboBox>
#include <QLabel>
#include <QRandomGenerator>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>

namespace cm::ui {
namespace {

constexpr int kAuto = -1;  // the Strength box's "auto": the edit's measured default, which may depend on the photo

// Strength in per cent, or "auto" below 0 %. Stepping out of auto starts at the default it stood
// for, not at 0 %.
class StrengthBox : public QSpinBox {
 public:
  using QSpinBox::QSpinBox;
  int default_percent = 50;
  void stepBy(int steps) override {
    if (value() == kAuto && steps != 0) setValue(std::clamp(default_percent + steps, 0, maximum()));
    else QSpinBox::stepBy(steps);
  }
};

}  // namespace

EditToolBar::EditToolBar(QWidget* parent) : QToolBar(tr("Edit"), parent) {
  setObjectName(QStringLiteral("edit"));
  kind_box_ = new QComboBox(this);
  // The registry's entries say which edits the picker offers, and where.
  for (edit::EditKind kind : engine::picker_edits()) {
    const engine::EditSpec& spec = engine::spec_of(kind);
    kind_box_->addItem(tr(spec.label), int(kind));
    kind_box_->setItemData(kind_box_->count() - 1, tr(spec.summary), Qt::ToolTipRole);
    strength_percent_[int(kind)] = kAuto;
  }
  addWidget(new QLabel(tr(" Edit "), this));
  addWidget(kind_box_);
  scale_box_ = new QComboBox(this);
  for (int k : {2, 4, 8}) scale_box_->addItem(QStringLiteral("×%1").arg(k), k);
  // The editor starts at ×2, not the registry's ×4: on a CPU a ×4 of a selection costs 4× the
  // tiles, 5–20 s for a 128×96 selection, where ×2 previews in a few seconds.
  scale_box_->setCurrentIndex(scale_box_->findData(2));
  scale_box_->setToolTip(tr("Super-resolution factor"));
  addWidget(scale_box_);
  steps_box_ = new QSpinBox(this);
  steps_box_->setRange(1, 40);
  steps_box_->setValue(3);
  addWidget(new QLabel(tr(" Steps "), this));
  addWidget(steps_box_);
  strength_box_ = new StrengthBox(this);
  strength_box_->setRange(kAuto, 100);
  strength_box_->setSpecialValueText(tr("auto"));
  strength_box_->setSuffix(QStringLiteral(" %"));
  addWidget(new QLabel(tr(" Strength "), this));
  addWidget(strength_box_);
  seed_box_ = new QSpinBox(this);
  seed_box_->setRange(0, 1 << 30);
  addWidget(new QLabel(tr(" Seed "), this));
  addWidget(seed_box_);
  QAction* vary = vary_action_ = addAction(tr("New variation"), this, [this] { seed_box_->setValue(int(QRandomGenerator::global()->bounded(1 << 30))); });
  vary->setIconText(tr("New seed"));  // short: the row must fit a 1200-px window (issue 33, finding 11)
  vary->setToolTip(tr("Pick a random seed: the same edit with other details"));
  // Slide between the variation of the seed and that of a second seed (slerp of their noises).
  blend_slider_ = new QSlider(Qt::Horizontal, this);
  blend_slider_->setRange(0, 100);
  blend_slider_->setFixedWidth(90);
  blend_slider_->setToolTip(tr("Blend toward the variation of the second seed"));
  seed_b_box_ = new QSpinBox(this);
  seed_b_box_->setRange(0, 1 << 30);
  seed_b_box_->setValue(1);
  seed_b_box_->setToolTip(tr("The second seed, whose variation the Blend slider moves toward"));
  addWidget(new QLabel(tr(" Blend "), this));
  addWidget(blend_slider_);
  addWidget(new QLabel(tr(" to "), this));
  addWidget(seed_b_box_);
  showKind();

  const auto preview = [this] { Q_EMIT changed(true); };
  connect(kind_box_, &QComboBox::currentIndexChanged, this, [this] {
    showKind();
    Q_EMIT changed(true);
  });
  connect(steps_box_, &QSpinBox::valueChanged, this, [this] { Q_EMIT changed(false); });
  connect(scale_box_, &QComboBox::currentIndexChanged, this, preview);
  connect(strength_box_, &QSpinBox::valueChanged, this, [this](int percent) {
    strength_percent_[int(kind())] = percent;
    showKind();  // the tooltip's σ
    Q_EMIT changed(true);
  });
  connect(seed_box_, &QSpinBox::valueChanged, this, preview);
  connect(seed_b_box_, &QSpinBox::valueChanged, this, preview);
  connect(blend_slider_, &QSlider::valueChanged, this, preview);
}

void EditToolBar::showKind() {
  const engine::EditSpec& spec = engine::spec_of(kind());
  scale_box_->setEnabled(kind() == edit::EditKind::SuperResolve);  // shown always: the toolbar keeps its place
  const QSignalBlocker quiet(strength_box_);
  strength_box_->setEnabled(spec.has_strength);
  const int percent = strength_percent_.value(int(kind()), kAuto);
  // At auto an inpainting's or a sketch's windows, and a super-resolution's tiles, take one
  // evaluation each (engine::one_step_a_part), so there the Steps box counts only once a strength is set.
  const bool one_a_window = percent == kAuto && engine::one_step_a_part(spec, -1);
  steps_box_->setEnabled(!one_a_window && !spec.one_evaluation);
  // An edit of one evaluation draws no noise: another seed, or a blend of two, changes nothing.
  for (QWidget* seeded : {static_cast<QWidget*>(seed_box_), static_cast<QWidget*>(seed_b_box_), static_cast<QWidget*>(blend_slider_)})
    seeded->setEnabled(!spec.one_evaluation);
  vary_action_->setEnabled(!spec.one_evaluation);
  steps_box_->setToolTip(spec.one_evaluation ? tr("This edit is one evaluation at the photo's own noise level: steps change nothing")
                         : one_a_window      ? tr("At strength auto each part of this edit takes one evaluation: more change nothing "
                                                  "visible. Set a strength to refine with more steps.")
                                             : tr("Evaluations when the hand rests (the live preview uses one)"));
  if (!spec.has_strength) {
    strength_box_->setValue(100);
    strength_box_->setToolTip(kind() == edit::EditKind::Denoise
                                  ? tr("Denoising reads the noise level from the photo, or takes it from Noise level in the "
                                       "Brush and mask panel")
                                  : tr("This edit always starts from pure noise"));
    return;
  }
  static_cast<StrengthBox*>(strength_box_)->default_percent = qRound(100 * spec.strength);
  strength_box_->setValue(percent);
  const QString automatic =
      spec.exemplar_strength >= 0 ? tr("%1 %, or %2 % for a large hole filled from the photo's patches")
                                        .arg(qRound(100 * spec.strength))
                                        .arg(qRound(100 * spec.exemplar_strength))
                                  : tr("%1 %").arg(qRound(100 * spec.strength));
  strength_box_->setToolTip(
      tr("How far the edit may move from its start (%1): 0 % keeps it, 100 % starts from pure noise.\n"
         "auto: as measured on held-out photos, %2.%3")
          .arg(tr(spec.estimate), automatic,
               percent == kAuto ? QString() : tr("\nNow noise level σ = %1.").arg(sampling::sigma_for_strength(percent / 100.0), 0, 'g', 3)));
}

void EditToolBar::fill(EditParameters& p) const {
  p.kind = kind();
  p.refine_steps = steps_box_->value();
  const int percent = strength_box_->value();
  p.strength = engine::spec_of(p.kind).has_strength && percent != kAuto ? percent / 100.0 : -1;  // −1: the engine's default
  p.settings["scale"] = scale_box_->currentData().toInt();
  p.seed = quint64(seed_box_->value());
  p.seed_b = quint64(seed_b_box_->value());
  p.blend = blend_slider_->value() / 100.0;
}

edit::EditKind EditToolBar::kind() const { return edit::EditKind(kind_box_->currentData().toInt()); }

void EditToolBar::setKind(edit::EditKind kind) {
  const int index = kind_box_->findData(int(kind));
  if (index >= 0) kind_box_->setCurrentIndex(index);
}

int EditToolBar::seed() const { return seed_box_->value(); }

void EditToolBar::setSeed(int seed) {
  const QSignalBlocker quiet(seed_box_);
  seed_box_->setValue(seed);
}

}  // namespace cm::ui
