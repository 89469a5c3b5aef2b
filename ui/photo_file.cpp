#include "ui/photo_file.h"

#include "core/imageio/image_file.h"
#include "ui/tensor_image.h"

#include <QStringList>

namespace cm::ui {

OpenedPhoto readPhoto(const QString& path) {
  const imageio::Image image = imageio::load_image(path.toStdString(), imageio::Pixels::Stored);  // no float copy of a large photo
  OpenedPhoto out;
  out.pixels = rgba64_image(image.rgb, image.alpha);
  out.bit_depth = image.bit_depth;
  out.alpha = image.alpha.defined();
  out.metadata = image.metadata;
  out.format = QString::fromStdString(image.format);
  out.summary = QStringLiteral("%1 × %2, %3-bit %4%5")
                    .arg(image.width())
                    .arg(image.height())
                    .arg(image.bit_depth)
                    .arg(image.grayscale ? QStringLiteral("gray") : QStringLiteral("RGB"))
                    .arg(out.alpha ? QStringLiteral(" + alpha") : QString());
  return out;
}

void writePhoto(const QString& path, const QImage& photo, const imageio::FileMetadata& metadata, const PhotoWrite& how) {
  imageio::Image out;
  out.rgb = photo_tensor(photo);
  if (how.alpha) out.alpha = alpha_tensor(photo);
  out.metadata = metadata;
  imageio::SaveOptions options;
  options.bit_depth = how.bit_depth;
  options.jpeg_quality = how.quality;
  options.strip_metadata = how.strip_metadata;
  if (how.as_srgb) options.colour = imageio::SaveOptions::Colour::Srgb;
  options.description = how.description.toStdString();
  imageio::save_image(path.toStdString(), out, options);
}

QString readablePhotoPatterns() {
  QStringList patterns;
  for (const std::string& ext : imageio::readable_extensions()) patterns << QStringLiteral("*") + QString::fromStdString(ext);
  return patterns.join(QLatin1Char(' '));
}

}  // namespace cm::ui
