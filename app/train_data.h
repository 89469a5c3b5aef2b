// Training images from a folder of photos (needs cm_imageio), for `cmedit-train pack` and for
// training straight from a folder.
#pragma once

#include "core/train/image_pack.h"

#include <filesystem>
#include <string>

namespace cli {

struct FolderOptions {
  double test_fraction = 0.1;  // held-out share, chosen by name hash (cm::train::split_for),
                               // for photos the manifest gives no split
  int short_side = 0;          // shrink (antialiased) until the short side is at most this (0: keep)
  int max_side = 0;            // and the longer side at most this (0: keep)
  int jpeg_quality = 0;        // > 0: store JPEG of this quality in packs (else raw rgb8)
  std::filesystem::path manifest;  // optional TSV: relative path <TAB> licence <TAB> source [<TAB> train|test]
  bool manifest_only = false;      // take only the photos the manifest lists (e.g. a licence subset)
};

// Every PNG/JPEG/WebP/BMP/TIFF below `folder` (sorted, names relative to it). A file that cannot
// be decoded is skipped with a warning; none at all is cm::Error(BadArgument).
cm::train::ImagePack load_image_folder(const std::filesystem::path& folder, const FolderOptions& options);

}  // namespace cli
