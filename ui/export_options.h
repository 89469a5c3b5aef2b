// What an export asks besides the file name, in one dialog after the file dialog: the quality of a
// lossy format, the bit depth where the format keeps 16 bits, and what happens to the photo's
// metadata and colour profile. Only what applies to the chosen format and photo is shown.
#pragma once

#include <QString>

#include <optional>

class QWidget;

namespace cm::ui {

struct ExportChoices {
  int quality = 95;             // 1..100 (lossy formats; JPEG XL at 100 is lossless)
  int bit_depth = 0;            // 8 or 16; 0: the photo's own
  bool strip_metadata = false;  // leave out EXIF, XMP and IPTC
  bool as_srgb = false;         // sRGB pixels tagged sRGB, not the photo's own profile
};

struct ExportContext {
  QString suffix;              // "jpg", lower case
  int photo_bit_depth = 8;
  bool has_metadata = false;   // the photo came with EXIF, XMP or IPTC
  QString profile;             // the photo's colour profile's name; empty for sRGB
};

// Which questions `context` raises: none means the dialog is not shown.
bool exportHasChoices(const ExportContext& context);

// Shows the dialog (when there is a choice to make); nullopt when the user cancels.
std::optional<ExportChoices> askExportChoices(QWidget* parent, const ExportContext& context);

}  // namespace cm::ui
