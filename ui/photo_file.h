// The editor's door to photo files: read one into the document's form (RGBA64, sRGB) with what
// the file held besides its pixels, and write the document's photo back. Torch-free, so the main
// window's files need no tensors; photo_file.cpp is where imageio's tensors meet QImage.
#pragma once

#include "core/imageio/file_metadata.h"

#include <QImage>
#include <QString>

namespace cm::ui {

struct OpenedPhoto {
  QImage pixels;                    // RGBA64: 16-bit sources (and converted colours) stay exact
  int bit_depth = 8;                // of the file
  bool alpha = false;               // the file has an alpha channel
  imageio::FileMetadata metadata;   // EXIF, XMP, IPTC, colour profile (and the file's own values)
  QString format;                   // "JPEG", "HEIC", "RAW (Canon EOS 5D)"
  QString summary;                  // "4032 × 3024, 8-bit RGB + alpha", for the log
};

// Throws cm::Error naming the file (imageio's load_image).
OpenedPhoto readPhoto(const QString& path);

struct PhotoWrite {
  int bit_depth = 8;                // 8 or 16 where the format holds it
  int quality = 95;                 // lossy formats
  bool alpha = false;               // write the photo's alpha channel
  bool strip_metadata = false;      // leave out EXIF, XMP and IPTC
  bool as_srgb = false;             // sRGB tagged sRGB instead of the photo's own profile
  QString description;              // the edit history, stored in PNG and JPEG files
};

// Writes `photo` (the document's RGBA64 pixels) with `metadata`; atomic. Throws cm::Error.
void writePhoto(const QString& path, const QImage& photo, const imageio::FileMetadata& metadata, const PhotoWrite& how);

// The Open dialog's name filter: every extension imageio reads ("*.png *.jpg … *.dng").
QString readablePhotoPatterns();

}  // namespace cm::ui
