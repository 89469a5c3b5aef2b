// What an export asks besides the file name, in one dialog after the file dialog: the quality of a
// lossy format, the bit depth where the format keeps 16 bits, and what happens to the photo's
// metadata and colour profile. Only what applies to the chosen format and photo is shown.
#pragma once

#include <QString>
#include <QStringList>

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

// The file dialog's types, one per format cmedit writes (imageio's table): "JPEG (*.jpg *.jpeg)".
QStringList exportFileTypes();
// The type a file of this suffix ("jpeg") is written as, and the suffix its suggested name takes
// (the photo's own where the type has it, else the type's first).
struct ExportFileType {
  QString filter;
  QString suffix;
};
// A camera RAW (`raw`) cannot be written: a photographer's usual next step is a 16-bit TIFF.
// Another unwritable suffix suggests PNG.
ExportFileType exportFileTypeFor(const QString& suffix, bool raw);
// The first suffix of a type ("JPEG (*.jpg *.jpeg)" → "jpg").
QString exportSuffixOf(const QString& filter);

// Which questions `context` raises: none means the dialog is not shown.
bool exportHasChoices(const ExportContext& context);

// Shows the dialog (when there is a choice to make); nullopt when the user cancels.
std::optional<ExportChoices> askExportChoices(QWidget* parent, const ExportContext& context);

}  // namespace cm::ui
