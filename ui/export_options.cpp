#include "ui/export_options.h"

#include "core/imageio/format_table.h"

#include <algorithm>
#include <cstring>

#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QSpinBox>

namespace cm::ui {
namespace {

// What the format keeps, from imageio's one table (an unknown suffix asks nothing).
const imageio::OutputFormat* formatOf(const QString& suffix) {
  return imageio::output_format("." + suffix.toLower().toStdString());
}
bool isLossy(const QString& suffix) { return formatOf(suffix) && formatOf(suffix)->lossy; }
bool keepsSixteenBits(const QString& suffix) { return formatOf(suffix) && formatOf(suffix)->bits16; }
bool carriesMetadata(const QString& suffix) { return formatOf(suffix) && formatOf(suffix)->metadata; }

// "JPEG (*.jpg *.jpeg)".
QString fileTypeOf(const imageio::WritableFormat& f) {
  QStringList patterns;
  for (const std::string& extension : f.extensions) patterns << QStringLiteral("*") + QString::fromStdString(extension);
  return QStringLiteral("%1 (%2)").arg(QString::fromUtf8(f.format->name), patterns.join(QLatin1Char(' ')));
}

}  // namespace

QStringList exportFileTypes() {
  QStringList types;
  for (const imageio::WritableFormat& f : imageio::writable_formats()) types << fileTypeOf(f);
  return types;
}

QString exportSuffixOf(const QString& filter) {
  const qsizetype star = filter.indexOf(QLatin1String("*."));
  if (star < 0) return {};
  qsizetype end = star + 2;
  while (end < filter.size() && filter[end] != QLatin1Char(' ') && filter[end] != QLatin1Char(')')) ++end;
  return filter.mid(star + 2, end - star - 2);
}

ExportFileType exportFileTypeFor(const QString& suffix, bool raw) {
  const std::vector<imageio::WritableFormat> formats = imageio::writable_formats();
  const std::string own = "." + suffix.toLower().toStdString();
  if (!raw)
    for (const imageio::WritableFormat& f : formats)
      if (std::find(f.extensions.begin(), f.extensions.end(), own) != f.extensions.end()) return {fileTypeOf(f), suffix.toLower()};
  const char* fallback = raw ? "TIFF" : "PNG";
  const auto chosen = std::find_if(formats.begin(), formats.end(), [&](const imageio::WritableFormat& f) {
    return std::strcmp(f.format->name, fallback) == 0;
  });
  const imageio::WritableFormat& f = chosen != formats.end() ? *chosen : formats.front();
  return {fileTypeOf(f), QString::fromStdString(f.extensions.front()).mid(1)};
}

bool exportHasChoices(const ExportContext& c) {
  return isLossy(c.suffix) || keepsSixteenBits(c.suffix) ||
         (carriesMetadata(c.suffix) && (c.has_metadata || !c.profile.isEmpty()));
}

std::optional<ExportChoices> askExportChoices(QWidget* parent, const ExportContext& c) {
  ExportChoices choices;
  if (!exportHasChoices(c)) return choices;
  QDialog dialog(parent);
  dialog.setWindowTitle(QObject::tr("Export options"));
  auto* form = new QFormLayout(&dialog);
  QSpinBox* quality = nullptr;
  if (isLossy(c.suffix)) {
    quality = new QSpinBox(&dialog);
    quality->setRange(1, 100);
    quality->setValue(95);
    quality->setObjectName(QStringLiteral("quality"));
    if (c.suffix == QLatin1String("jxl")) quality->setToolTip(QObject::tr("100 is lossless"));
    form->addRow(QObject::tr("Quality (1–100):"), quality);
  }
  QComboBox* depth = nullptr;
  if (keepsSixteenBits(c.suffix)) {
    // Edits are computed in float: 16 bits keep their gradients even from an 8-bit photo.
    depth = new QComboBox(&dialog);
    depth->setObjectName(QStringLiteral("depth"));
    depth->addItems({QObject::tr("8 bits per channel"), QObject::tr("16 bits per channel")});
    depth->setCurrentIndex(c.photo_bit_depth > 8 ? 1 : 0);
    form->addRow(QObject::tr("Bit depth:"), depth);
  }
  QCheckBox* strip = nullptr;
  if (carriesMetadata(c.suffix) && c.has_metadata) {
    strip = new QCheckBox(QObject::tr("Leave out camera data (EXIF, XMP: camera, place, date)"), &dialog);
    strip->setObjectName(QStringLiteral("strip"));
    form->addRow(strip);
  }
  QCheckBox* srgb = nullptr;
  if (carriesMetadata(c.suffix) && !c.profile.isEmpty()) {
    srgb = new QCheckBox(QObject::tr("Convert to sRGB (the photo's profile: %1)").arg(c.profile), &dialog);
    srgb->setObjectName(QStringLiteral("srgb"));
    srgb->setToolTip(QObject::tr("Unchecked, the export keeps the photo's own colour profile, as it was opened."));
    form->addRow(srgb);
  }
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
  QObject::connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  QObject::connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  form->addRow(buttons);
  if (dialog.exec() != QDialog::Accepted) return std::nullopt;
  if (quality) choices.quality = quality->value();
  if (depth) choices.bit_depth = depth->currentIndex() == 1 ? 16 : 8;
  if (strip) choices.strip_metadata = strip->isChecked();
  if (srgb) choices.as_srgb = srgb->isChecked();
  return choices;
}

}  // namespace cm::ui
