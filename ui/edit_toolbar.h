// The editor's Edit toolbar: which edit, its steps, its Strength, its settings, the seed and the
// blend toward a second seed, built from the edit registry (core/engine/edit_registry.h), so a
// new edit appears here by its entry there plus one line in this file's list of editor edits.
// No torch here: the header is for widgets.
#pragma once

#include "core/edit/edit_kind.h"
#include "ui/edit_controller.h"

#include <QHash>
#include <QToolBar>

class QAction;
class QComboBox;
class QSlider;
class QSpinBox;

namespace cm::ui {

class EditToolBar : public QToolBar {
  Q_OBJECT

 public:
  explicit EditToolBar(QWidget* parent = nullptr);

  // The toolbar's part of the parameters written into p (the rest of p is left as it is).
  void fill(EditParameters& p) const;

  edit::EditKind kind() const;
  void setKind(edit::EditKind kind);  // emits changed() when it is another edit
  int seed() const;
  void setSeed(int seed);  // quietly: for a preview that is already there
  QSlider* blendSlider() const { return blend_slider_; }
  QSpinBox* strengthBox() const { return strength_box_; }
  QSpinBox* stepsBox() const { return steps_box_; }
  QSpinBox* seedBox() const { return seed_box_; }
  QComboBox* kindBox() const { return kind_box_; }
  QComboBox* scaleBox() const { return scale_box_; }

 Q_SIGNALS:
  // A setting changed; preview: whether it changes the preview (the refine steps do not).
  void changed(bool preview);

 private:
  void showKind();  // the Strength and settings of the current edit

  QComboBox* kind_box_ = nullptr;
  QSpinBox* steps_box_ = nullptr;
  QSpinBox* strength_box_ = nullptr;
  QComboBox* scale_box_ = nullptr;
  QSpinBox* seed_box_ = nullptr;
  QSpinBox* seed_b_box_ = nullptr;
  QSlider* blend_slider_ = nullptr;
  QAction* vary_action_ = nullptr;
  QHash<int, int> strength_percent_;  // per edit, so switching edits keeps each one's choice
};

}  // namespace cm::ui
