// Every edit cmedit offers, declared once: its name and label, the inputs it takes, its settings
// with their defaults, where it starts from and what it keeps, and its default strength and
// steps. execute.cpp runs an edit through its entry; cmedit-cli builds its commands, options,
// checks, usage text and --json report from the table; the editor builds its edit picker and
// Strength control from it. A new edit is one entry here (and its algorithm in core/edit).
#pragma once

#include "core/edit/edit_kind.h"
#include "core/edit/edits.h"
#include "core/edit/region.h"

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace cm::engine {

struct EditRequest;

// The largest work size of an interactive request on the CPU (EditRequest::Use): 128 px costs 4×
// the model's 64 and already brings most of the measured gain in texture.
constexpr int kCpuInteractiveWorkSize = 128;
// The largest side a draft on the CPU spreads colour hints at (RegionOptions::hint_side; the
// refinement's is the region's own, 1024).
constexpr int kCpuDraftHintSide = 512;
// Tiles a denoise evaluates at once on a GPU (RegionOptions::tile_batch): one 64-px tile is
// launch-bound there (the official 64-px network on an H200: 23.5 ms at batch 1, 2 ms an image at
// batch 64; issue 31), so a 12 MP photo's 3,927 tiles one by one would take a minute or more. 32
// keeps the first group, under the user's eye, within a preview's time. Not measured on a GPU yet.
constexpr int kGpuDenoiseBatch = 32;

enum class Need { No, Optional, Required };

// A number an edit takes beyond the common ones (steps, seed, strength): "--NAME" on the CLI,
// NAME in reports, stored in the request through get/set. Entries set their fields by name
// (edit_registry.cpp).
struct EditSetting {
  const char* name = "";
  const char* help = "";
  double fallback = 0;  // the default (also the request's own initial value)
  double min = 0, max = 0;
  bool integral = false;
  double (*get)(const EditRequest&) = nullptr;
  void (*set)(EditRequest&, double) = nullptr;
  // A choice among words instead of a number: "auto|smooth|exemplar"; the value is the index.
  const char* choices = nullptr;
  // What each choice does, one line each in the same order, '|'-separated (CLI usage, tooltips).
  const char* choice_help = nullptr;
};

// The word of a choice setting's value ("exemplar"), or its index when out of range.
std::string choice_name(const EditSetting& setting, double value);
// What choice `index` does; empty when the setting does not say.
std::string choice_help(const EditSetting& setting, int index);
// The value of a word among a setting's choices; −1 when it is none of them.
int choice_index(const EditSetting& setting, const std::string& word);

// One edit's entry. Entries set their fields by name (edit_registry.cpp); a field an entry leaves
// alone keeps the default here.
struct EditSpec {
  edit::EditKind kind;         // every entry sets it first
  const char* label = "";      // the editor: "Inpaint"
  const char* arguments = "";  // CLI usage after the command: "IMAGE --mask MASK"
  const char* summary = "";    // one line, for usage text and tooltips
  bool image = false;          // takes a photo (the low-res photo for superres)
  bool painting = false;       // ... with the user's strokes painted over it (sketch)
  Need mask = Need::No;
  bool hints = false;
  // Strength (sampling::sigma_for_strength): 0 keeps the initial estimate, 1 starts from pure
  // noise at T (the published Algorithm 4). Edits without one always start at T (generate,
  // interpolate) or are not sampled (denoise, whose level is its noise).
  bool has_strength = false;
  double strength = 1.0;     // default, measured on held-out photos (docs/QUALITY.md)
  double fresh_noise = 1.0;  // default share of fresh noise between steps (sampling::Schedule)
  int steps = 1;             // default evaluations
  // One evaluation whatever the steps (denoise: f at the photo's own noise level), so nothing
  // draws noise and a draft is already the refined result: the editor commits its first preview
  // instead of computing the same tiles again (a 12 MP denoise: four minutes on 2 cores).
  bool one_evaluation = false;
  // At its default strength, one evaluation a part whatever the steps: each part starts so near its
  // answer that more steps only smooth it a little (super-resolution's tiles; window_steps says
  // what was measured). A strength asked for runs every step.
  bool one_step_at_default = false;
  // The largest side a window of this edit runs at (RegionOptions::max_work_size; 0 = the model's
  // size). Measured: inpainting gains texture at the photo's own resolution; colour is smooth and
  // the model's colour noise is not, so colorization stays small; tiles are native already.
  int work_size = 0;
  const char* estimate = "";  // what the loop starts from below strength 1
  const char* keeps = "";     // what comes back exactly
  std::vector<EditSetting> settings;
  // Runs the edit on one photo (or none) with the schedule, seeds and controls in `settings`: a call
  // of its algorithm in core/edit, nothing more.
  at::Tensor (*run)(const model::ConsistencyFunction& f, const EditRequest& request, edit::EditSettings& settings) = nullptr;
  // The default strength when the start is an exemplar fill (inpaint's large holes,
  // edit::region::uses_exemplar), which needs a lighter touch than a blur; < 0: none.
  double exemplar_strength = -1;
  // The default strength of a window along a mask at the photo's own pixels (window_strength):
  // there the model's texture at `strength` is noise the photo does not have. < 0: none.
  double native_strength = -1;
  // Where the editor's edit picker lists it (0 first); < 0: the picker does not offer it
  // (interpolation is the editor's Blend slider).
  int picker_position = -1;

  // The CLI command, settings key and log name: "inpaint" (edit::to_string).
  std::string name() const { return std::string(edit::to_string(kind)); }
};

const std::vector<EditSpec>& edit_specs();
const EditSpec& spec_of(edit::EditKind kind);
// nullptr when no edit has that name.
const EditSpec* find_spec(const std::string& name);
// nullptr when the edit has no setting of that name ("fill", without the CLI's "--").
const EditSetting* find_setting(const EditSpec& spec, const std::string& name);
// The edits the editor's picker offers, in its order (EditSpec::picker_position).
std::vector<edit::EditKind> picker_edits();

// The work size a request runs at (RegionOptions::max_work_size): its own when it names one, else
// the edit's, limited on the CPU by the request's use.
int work_size_of(const EditRequest& request, bool on_cpu);

// The strength a request runs at: its own, or the edit's default when it has none (< 0).
double strength_of(const EditRequest& request);

// The default strength of one window of an edit along a mask (inpaint's and sketch's windows,
// region.h): from the window's start (the exemplar fill or not) and its scale.
double window_strength(const EditSpec& spec, const edit::region::RegionOptions::WindowStart& start);

// Whether a request's default strength is chosen window by window (inpaint and sketch along a
// mask: window_strength, window_steps), as it is when it asks for no strength and no ts.
bool chooses_per_window(const EditSpec& spec);

// The evaluations one such window takes at the default strength, of the request's `steps`: one,
// where more change nothing one can measure (edit_registry.cpp says what was measured). A strength
// asked for runs every step.
int window_steps(int steps);

// Whether each part of an edit (a window, a tile) takes one evaluation at `strength` (< 0: the
// default) whatever the steps: chooses_per_window or EditSpec::one_step_at_default, at the default.
bool one_step_a_part(const EditSpec& spec, double strength);

// The request as it runs: the work size (work_size_of), and a draft's start along a mask (never
// the exemplar fill, which costs seconds: inpainting's membrane fill, a sketch's mirrored edge;
// otherwise each window chooses its own), so the strength, the schedule and the edit itself all
// read the same answer. Shallow: tensors are shared.
EditRequest resolved(const EditRequest& request, bool on_cpu);

}  // namespace cm::engine
