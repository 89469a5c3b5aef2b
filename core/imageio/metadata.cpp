#include "core/imageio/metadata.h"

#include "core/base/error.h"

#include <spdlog/spdlog.h>

// Exiv2 0.27's interface returns std::auto_ptr, deprecated since C++11 and still in libstdc++.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <exiv2/exiv2.hpp>

#include <climits>
#include <mutex>

namespace cm::imageio {
namespace {

// XMP's toolkit must be initialised once before any thread parses XMP. Exiv2's own warnings (an
// odd maker note, a tag out of place) go to the log, not to the terminal of a CLI run.
void use_exiv2() {
  static std::once_flag once;
  std::call_once(once, [] {
    Exiv2::XmpParser::initialize();
    Exiv2::LogMsg::setHandler([](int level, const char* message) {
      if (level >= Exiv2::LogMsg::warn) spdlog::debug("exiv2: {}", message);
    });
  });
}

Exiv2::ExifData decode_exif(const std::vector<std::uint8_t>& blob, Exiv2::ByteOrder* order = nullptr) {
  Exiv2::ExifData exif;
  if (blob.size() < 8 || blob.size() > UINT32_MAX) return exif;
  const Exiv2::ByteOrder found = Exiv2::ExifParser::decode(exif, blob.data(), std::uint32_t(blob.size()));
  if (order) *order = found == Exiv2::invalidByteOrder ? Exiv2::littleEndian : found;
  return exif;
}

std::vector<std::uint8_t> encode_exif(const Exiv2::ExifData& exif, Exiv2::ByteOrder order) {
  if (exif.empty()) return {};
  Exiv2::Blob blob;
  // Builds the EXIF of a compressed photo: the image-structure tags of a RAW or TIFF source
  // (strips, sensor size) and its sub-images are left out, since they describe the old pixels.
  Exiv2::ExifParser::encode(blob, order, exif);
  return {blob.begin(), blob.end()};
}

}  // namespace

FileMetadata read_metadata(const std::uint8_t* bytes, std::size_t size) {
  FileMetadata out;
  if (size == 0 || size > std::size_t(LONG_MAX)) return out;
  use_exiv2();
  try {
    Exiv2::Image::AutoPtr image = Exiv2::ImageFactory::open(bytes, long(size));
    if (!image.get()) return out;
    image->readMetadata();
    const Exiv2::ByteOrder order = image->byteOrder() == Exiv2::invalidByteOrder ? Exiv2::littleEndian : image->byteOrder();
    out.exif = encode_exif(image->exifData(), order);
    out.xmp = image->xmpPacket();
    if (!image->iptcData().empty()) {
      const Exiv2::DataBuf iptc = Exiv2::IptcParser::encode(image->iptcData());
      out.iptc.assign(iptc.pData_, iptc.pData_ + iptc.size_);
    }
    if (image->iccProfileDefined()) {
      const Exiv2::DataBuf* icc = image->iccProfile();
      out.icc.assign(icc->pData_, icc->pData_ + icc->size_);
    }
  } catch (const std::exception& e) {
    spdlog::warn("the photo's metadata cannot be read and is left out: {}", e.what());
    return {};
  }
  return out;
}

int exif_orientation(const FileMetadata& metadata) {
  use_exiv2();
  try {
    const Exiv2::ExifData exif = decode_exif(metadata.exif);
    const auto it = exif.findKey(Exiv2::ExifKey("Exif.Image.Orientation"));
    if (it == exif.end() || it->count() == 0) return 1;
    const long value = it->toLong();
    return value >= 1 && value <= 8 ? int(value) : 1;
  } catch (const std::exception&) {
    return 1;
  }
}

FileMetadata for_export(const FileMetadata& metadata, int width, int height, const std::string& software) {
  use_exiv2();
  FileMetadata out = metadata;
  try {
    Exiv2::ByteOrder order = Exiv2::littleEndian;
    Exiv2::ExifData exif = decode_exif(metadata.exif, &order);
    exif["Exif.Image.Orientation"] = std::uint16_t(1);
    exif["Exif.Image.Software"] = software;
    Exiv2::ExifThumb(exif).erase();
    if (exif.findKey(Exiv2::ExifKey("Exif.Photo.PixelXDimension")) != exif.end()) {
      exif["Exif.Photo.PixelXDimension"] = std::uint32_t(width);
      exif["Exif.Photo.PixelYDimension"] = std::uint32_t(height);
    }
    out.exif = encode_exif(exif, order);
  } catch (const std::exception& e) {
    spdlog::warn("the photo's EXIF cannot be updated and is left out of the export: {}", e.what());
    out.exif.clear();
  }
  if (!metadata.xmp.empty()) {
    try {
      Exiv2::XmpData xmp;
      if (Exiv2::XmpParser::decode(xmp, metadata.xmp) != 0) throw std::runtime_error("the XMP packet does not parse");
      for (const char* key : {"Xmp.tiff.Orientation", "Xmp.exif.PixelXDimension", "Xmp.exif.PixelYDimension"}) {
        const auto it = xmp.findKey(Exiv2::XmpKey(key));
        if (it != xmp.end()) xmp.erase(it);
      }
      xmp["Xmp.tiff.Orientation"] = "1";
      std::string packet;
      if (Exiv2::XmpParser::encode(packet, xmp, Exiv2::XmpParser::useCompactFormat) != 0)
        throw std::runtime_error("the XMP packet cannot be written again");
      out.xmp = packet;
    } catch (const std::exception& e) {
      spdlog::warn("the photo's XMP cannot be updated and is left out of the export: {}", e.what());
      out.xmp.clear();
    }
  }
  return out;
}

void embed_metadata(std::vector<std::uint8_t>& encoded, const FileMetadata& metadata, const std::string& name) {
  if (metadata.exif.empty() && metadata.xmp.empty() && metadata.iptc.empty() && metadata.icc.empty()) return;
  use_exiv2();
  try {
    Exiv2::Image::AutoPtr image = Exiv2::ImageFactory::open(encoded.data(), long(encoded.size()));
    if (!image.get()) throw Error(ErrorCode::Io, "cannot write metadata into " + name + ": Exiv2 does not know the format");
    image->readMetadata();
    image->setExifData(decode_exif(metadata.exif));
    Exiv2::IptcData iptc;
    if (!metadata.iptc.empty()) Exiv2::IptcParser::decode(iptc, metadata.iptc.data(), std::uint32_t(metadata.iptc.size()));
    image->setIptcData(iptc);
    image->setXmpPacket(metadata.xmp);
    image->writeXmpFromPacket(true);
    if (!metadata.icc.empty()) {
      Exiv2::DataBuf icc(metadata.icc.data(), long(metadata.icc.size()));
      image->setIccProfile(icc, true);
    }
    image->writeMetadata();
    Exiv2::BasicIo& io = image->io();
    io.open();
    io.seek(0, Exiv2::BasicIo::beg);
    const Exiv2::DataBuf all = io.read(io.size());
    io.close();
    encoded.assign(all.pData_, all.pData_ + all.size_);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorCode::Io, "cannot write metadata into " + name + ": " + e.what());
  }
}

std::string exiv2_version() { return Exiv2::version(); }

}  // namespace cm::imageio

#pragma GCC diagnostic pop
