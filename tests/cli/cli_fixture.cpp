// cli_fixture — makes the input files of the cmedit-cli end-to-end tests and checks the files
// cmedit-cli writes against the invariants of each edit. Prints "ok" or one "FAIL: …" line.
//   cli_fixture make DIR
//   cli_fixture photos DIR N                             N small photos to train on, one broken file
//   cli_fixture masks-for DIR OUT                        OUT/NAME.png: a mask for each readable DIR/NAME.png
//   cli_fixture runs-close RUN_A RUN_B TOL               the latest checkpoints hold the same tensors
//                                                        (weights, EMA, optimizer) within TOL
//   cli_fixture same-outside IN OUT MASK GROW FEATHER   pixels the edit cannot reach are identical
//   cli_fixture luma IN OUT TOL                          output luma = input luma within TOL
//   cli_fixture chroma-at HINTS OUT TOL                  hinted pixels have the hint's colour at their
//                                                        luma (its offset from grey: hint_at_luma),
//                                                        brought into range keeping the luma
//   cli_fixture means LOW OUT K TOL                      every K×K block of OUT averages to LOW
//   cli_fixture alpha IN OUT                             alpha carried over (enlarged by repetition)
//   cli_fixture depth FILE BITS                          the file's bit depth
//   cli_fixture size FILE W H
//   cli_fixture same A B                                 identical pixels
//   cli_fixture phone-photos DIR                         phone.jpg, phone.heic (EXIF, XMP, Display P3),
//                                                        p3.png (Display P3 values), none.png (an empty
//                                                        mask), dot.png (a 1-px mask), phones/ + phone_masks/,
//                                                        shot.dng (a camera RAW) + dot_raw.png
//   cli_fixture tag FILE KEY VALUE                       an EXIF key's value as Exiv2 reads it ("-": absent);
//                                                        KEY "profile": the colour profile's description
//   cli_fixture values-close A B LEVELS                  the files' own values (no colour management) agree
//   cli_fixture odd-inputs DIR                           dot.png (1×1), grey16.png (16-bit grey),
//                                                        huge.png (a header claiming 20000×20000)
#include "core/edit/edits.h"
#include "core/edit/estimates.h"
#include "core/edit/linear_operator.h"
#include "core/edit/resample.h"
#include "core/imageio/image_file.h"
#include "core/train/sharded_checkpoint.h"
#include "tests/core/dng_writer.h"
#include "tests/core/photo_files.h"

#include <ATen/ATen.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

using cm::imageio::Image;
namespace fs = std::filesystem;

at::Tensor gradient_photo(int64_t h, int64_t w, double phase) {
  const at::Tensor y = at::linspace(-1, 1, h, at::kFloat).view({1, 1, h, 1}).expand({1, 1, h, w});
  const at::Tensor x = at::linspace(-1, 1, w, at::kFloat).view({1, 1, 1, w}).expand({1, 1, h, w});
  return at::cat({0.7 * at::sin(3 * x + phase), 0.6 * y, 0.5 * at::cos(2 * (x + y))}, 1).contiguous();
}

void save(const fs::path& path, at::Tensor rgb, int bits, at::Tensor alpha = at::Tensor()) {
  Image image;
  image.rgb = rgb;
  image.alpha = alpha;
  cm::imageio::SaveOptions options;
  options.bit_depth = bits;
  cm::imageio::save_image(path, image, options);
}

int make(const fs::path& dir) {
  fs::create_directories(dir);
  at::Tensor alpha = at::linspace(0.2, 1, 48, at::kFloat).view({1, 1, 1, 48}).expand({1, 1, 40, 48}).contiguous();
  save(dir / "photo.png", gradient_photo(40, 48, 0.0), 8, alpha);
  save(dir / "photo16.png", gradient_photo(36, 40, 1.0), 16);
  const at::Tensor grey = gradient_photo(40, 50, 2.0).narrow(1, 1, 1).expand({1, 3, 40, 50}).contiguous();
  save(dir / "grey16.png", grey, 16);
  at::Tensor mask = at::full({1, 3, 40, 48}, -1.0f);
  mask.narrow(2, 12, 10).narrow(3, 20, 12).fill_(1.0f);
  save(dir / "mask.png", mask, 8);
  save(dir / "mask_small.png", at::full({1, 3, 20, 20}, 1.0f), 8);
  at::Tensor mask16 = at::full({1, 3, 36, 40}, -1.0f);
  mask16.narrow(2, 5, 9).narrow(3, 3, 14).fill_(1.0f);
  save(dir / "mask16.png", mask16, 8);
  at::Tensor hints = at::zeros({1, 3, 40, 50});
  hints.select(1, 0).fill_(0.8f);
  hints.select(1, 2).fill_(-0.6f);
  at::Tensor hint_alpha = at::zeros({1, 1, 40, 50});
  hint_alpha.narrow(2, 10, 3).narrow(3, 10, 3).fill_(1.0f);
  hint_alpha.narrow(2, 30, 2).narrow(3, 35, 6).fill_(1.0f);
  save(dir / "hints.png", hints, 8, hint_alpha);
  save(dir / "low16.png", gradient_photo(11, 13, 0.5), 16);
  save(dir / "noisy.png", (gradient_photo(64, 64, 0.3) + 0.1 * at::randn({1, 3, 64, 64})).clamp(-1, 1), 8);
  std::ofstream(dir / "not_an_image.png") << "hello";
  std::ifstream full(dir / "photo.png", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(full)), {});
  std::ofstream(dir / "truncated.png", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  std::puts("ok");
  return 0;
}

// Photos as a phone gives them: EXIF (camera, date, thumbnail), XMP, a Display P3 profile.
int phone_photos(const fs::path& dir) {
  fs::create_directories(dir / "phones");
  fs::create_directories(dir / "phone_masks");
  const cm::imageio::FileMetadata phone = cm::testing::phone_metadata();
  Image image;
  image.rgb = gradient_photo(30, 40, 0.7);
  image.metadata.icc = phone.icc;  // the pixels written as Display P3 values, tagged so
  for (const fs::path& path : {dir / "phone.jpg", dir / "phones" / "phone.jpg", dir / "p3.png"}) {
    cm::imageio::save_image(path, image);
    if (path.extension() == ".jpg") cm::testing::write_tags(path, phone);  // the camera's tags, by Exiv2 itself
  }
  image.metadata = phone;
  cm::imageio::save_image(dir / "phone.heic", image);
  at::Tensor none = at::full({1, 3, 30, 40}, -1.0f);
  save(dir / "none.png", none, 8);
  none[0][0][15][20] = none[0][1][15][20] = none[0][2][15][20] = 1.0f;
  save(dir / "dot.png", none, 8);
  save(dir / "phone_masks" / "phone.png", none, 8);
  // A camera RAW (tests/core/dng_writer.h) and a 1-px mask of its size.
  cm::testing::write_dng(dir / "shot.dng", 64, 48);
  at::Tensor dot_raw = at::full({1, 3, 48, 64}, -1.0f);
  dot_raw.narrow(2, 20, 1).narrow(3, 30, 1).fill_(1.0f);
  save(dir / "dot_raw.png", dot_raw, 8);
  std::puts("ok");
  return 0;
}

// A file's own values as OpenCV decodes them: no orientation, no colour management.
cv::Mat file_values(const std::string& path) {
  const cv::Mat m = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (m.empty()) throw std::runtime_error("cannot read " + path);
  return m;
}

int photos(const fs::path& dir, int n) {
  fs::create_directories(dir / "sub");
  for (int i = 0; i < n; ++i) {
    const int64_t h = 24 + 7 * (i % 5), w = 30 + 11 * (i % 3);
    save(dir / (i % 2 ? "sub" : ".") / ("photo" + std::to_string(i) + ".png"), gradient_photo(h, w, 0.4 * i), 8);
  }
  std::ofstream(dir / "broken.jpg") << "not a JPEG";
  std::ofstream(dir / "licences.tsv") << "# NAME\tLICENCE\tSOURCE\tSPLIT\n"
                                      << "photo0.png\tCC0-1.0\tfixture\ttrain\nphoto2.png\tCC0-1.0\tfixture\ttrain\n"
                                      << "sub/photo1.png\tCC-BY-4.0\tfixture\ttrain\nphoto4.png\tCC0-1.0\tfixture\ttest\n";
  std::ofstream(dir / "not_a_pack.cmpack") << "CMPACK01 but nothing after it";
  std::puts("ok");
  return 0;
}

// A box over the middle third of each photo, of the photo's own size.
int masks_for(const fs::path& dir, const fs::path& out) {
  fs::create_directories(out);
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".png") continue;
    const Image photo = cm::imageio::load_image(e.path());
    at::Tensor mask = at::full({1, 3, photo.height(), photo.width()}, -1.0f);
    mask.narrow(2, photo.height() / 3, photo.height() / 3).narrow(3, photo.width() / 3, photo.width() / 3).fill_(1.0f);
    save(out / e.path().filename(), mask, 8);
  }
  std::puts("ok");
  return 0;
}

std::uint32_t crc32(const std::string& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string be32(std::uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xFF), char((v >> 8) & 0xFF), char(v & 0xFF)};
}

std::string png_chunk(const std::string& type, const std::string& data) {
  return be32(std::uint32_t(data.size())) + type + data + be32(crc32(type + data));
}

// A PNG written by hand (OpenCV writes no grey files through cm_imageio): colour type 0 at
// `bits`, rows of `rows` given raw, stored in one uncompressed deflate block.
std::string grey_png(std::uint32_t w, std::uint32_t h, int bits, const std::string& rows) {
  std::string ihdr = be32(w) + be32(h) + std::string{char(bits), 0, 0, 0, 0};
  std::string raw;
  const std::size_t row_bytes = rows.size() / h;
  for (std::uint32_t y = 0; y < h; ++y) raw += '\0' + rows.substr(y * row_bytes, row_bytes);
  std::uint32_t a = 1, b = 0;  // Adler-32
  for (unsigned char c : raw) a = (a + c) % 65521, b = (b + a) % 65521;
  const auto n = std::uint16_t(raw.size());
  std::string zlib = std::string{'\x78', '\x01', '\x01', char(n & 0xFF), char(n >> 8), char(~n & 0xFF), char((~n >> 8) & 0xFF)} +
                     raw + be32(b << 16 | a);
  return "\x89PNG\r\n\x1a\n" + png_chunk("IHDR", ihdr) + png_chunk("IDAT", zlib) + png_chunk("IEND", "");
}

int odd_inputs(const fs::path& dir) {
  fs::create_directories(dir);
  Image dot;
  dot.rgb = at::full({1, 3, 1, 1}, 0.25f);
  cm::imageio::save_image(dir / "dot.png", dot);
  std::string rows;
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) {
      const int v = 1500 * x + 40 * y;
      rows += char(v >> 8), rows += char(v & 0xFF);
    }
  std::ofstream(dir / "grey16.png", std::ios::binary) << grey_png(40, 30, 16, rows);
  // The header of a 20000×20000 grey PNG and one row of pixels: a small file that asks for 400 MP.
  std::ofstream(dir / "huge.png", std::ios::binary) << grey_png(20000, 1, 8, std::string(20000, '\x40')).replace(20, 4, be32(20000));
  return 0;
}

int fail(const std::string& why) {
  std::printf("FAIL: %s\n", why.c_str());
  return 1;
}

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>(); }

int run(const std::vector<std::string>& a) {
  if (a.size() == 2 && a[0] == "make") return make(a[1]);
  if (a.size() == 2 && a[0] == "odd-inputs") return odd_inputs(a[1]);
  if (a.size() == 3 && a[0] == "photos") return photos(a[1], std::stoi(a[2]));
  if (a.size() == 3 && a[0] == "masks-for") return masks_for(a[1], a[2]);
  if (a.size() == 6 && a[0] == "same-outside") {
    const Image in = cm::imageio::load_image(a[1]), out = cm::imageio::load_image(a[2]);
    const at::Tensor mask = cm::imageio::load_mask(a[3]);
    const at::Tensor keep = (cm::edit::feather_weights(mask.to(at::kFloat), std::stoi(a[4]), std::stoi(a[5])) == 0).expand_as(in.rgb);
    if (!at::equal(in.rgb.masked_select(keep), out.rgb.masked_select(keep))) return fail("pixels outside the edit changed");
    if (at::equal(in.rgb, out.rgb)) return fail("nothing was edited");
  } else if (a.size() == 4 && a[0] == "luma") {
    const cm::edit::LumaChromaOperator op;
    const double d = max_diff(op.forward(cm::imageio::load_image(a[1]).rgb).narrow(1, 0, 1),
                              op.forward(cm::imageio::load_image(a[2]).rgb).narrow(1, 0, 1));
    if (d > std::stod(a[3])) return fail("luma differs by " + std::to_string(d));
  } else if (a.size() == 4 && a[0] == "chroma-at") {
    const cm::edit::LumaChromaOperator op;
    const Image hints = cm::imageio::load_image(a[1]);
    const at::Tensor at_hints = (hints.alpha >= 0.5).expand({1, 2, -1, -1});
    const at::Tensor out = cm::imageio::load_image(a[2]).rgb;
    const at::Tensor hinted = cm::edit::fit_range_keeping_luma(cm::edit::hint_at_luma(out, hints.rgb));
    const double d = max_diff(op.forward(hinted).narrow(1, 1, 2).masked_select(at_hints),
                              op.forward(out).narrow(1, 1, 2).masked_select(at_hints));
    if (d > std::stod(a[3])) return fail("chroma at the hints differs by " + std::to_string(d));
  } else if (a.size() == 5 && a[0] == "means") {
    const int k = std::stoi(a[3]);
    const double d = max_diff(at::avg_pool2d(cm::imageio::load_image(a[2]).rgb, {k, k}), cm::imageio::load_image(a[1]).rgb);
    if (d > std::stod(a[4])) return fail("block means differ by " + std::to_string(d));
  } else if (a.size() == 3 && a[0] == "alpha") {
    const Image in = cm::imageio::load_image(a[1]), out = cm::imageio::load_image(a[2]);
    if (!in.alpha.defined() || !out.alpha.defined()) return fail("no alpha");
    const int64_t k = out.alpha.size(2) / in.alpha.size(2);
    if (!at::equal(in.alpha.repeat_interleave(k, 2).repeat_interleave(k, 3), out.alpha)) return fail("alpha changed");
  } else if (a.size() == 4 && a[0] == "runs-close") {
    const auto latest_a = cm::train::latest_checkpoint(fs::path(a[1]) / "checkpoints");
    const auto latest_b = cm::train::latest_checkpoint(fs::path(a[2]) / "checkpoints");
    if (!latest_a || !latest_b) return fail("a run has no checkpoint");
    if (latest_a->filename() != latest_b->filename()) return fail("the runs stopped at different steps");
    const cm::train::Checkpoint ca = cm::train::read_checkpoint(*latest_a), cb = cm::train::read_checkpoint(*latest_b);
    if (ca.tensors.size() != cb.tensors.size()) return fail("the checkpoints hold different tensors");
    double worst = 0;
    for (std::size_t i = 0; i < ca.tensors.size(); ++i) {
      if (ca.tensors[i].first != cb.tensors[i].first) return fail("tensor " + ca.tensors[i].first + " against " + cb.tensors[i].first);
      worst = std::max(worst, max_diff(ca.tensors[i].second, cb.tensors[i].second));
    }
    std::printf("max |difference| %.3g over %zu tensors\n", worst, ca.tensors.size());
    if (worst > std::stod(a[3])) return fail("the runs differ by " + std::to_string(worst));
  } else if (a.size() == 2 && a[0] == "phone-photos") {
    return phone_photos(a[1]);
  } else if (a.size() == 4 && a[0] == "tag") {
    const cm::testing::FileTags tags = cm::testing::read_tags(a[1]);
    const std::string value = a[2] == "profile" ? cm::testing::profile_description(tags.icc) : tags.exif_value(a[2]);
    const std::string expected = a[3] == "-" ? std::string() : a[3];
    if (value != expected) return fail(a[2] + " is '" + value + "', not '" + expected + "'");
  } else if (a.size() == 4 && a[0] == "values-close") {
    const cv::Mat x = file_values(a[1]), y = file_values(a[2]);
    if (x.size() != y.size() || x.type() != y.type()) return fail("the files differ in size or type");
    cv::Mat diff;
    cv::absdiff(x, y, diff);
    double worst = 0;
    cv::minMaxLoc(diff.reshape(1), nullptr, &worst);
    std::printf("max |difference| %g levels\n", worst);
    if (worst > std::stod(a[3])) return fail("the files' values differ by " + std::to_string(worst) + " levels");
  } else if (a.size() == 3 && a[0] == "same") {
    if (!at::equal(cm::imageio::load_image(a[1]).rgb, cm::imageio::load_image(a[2]).rgb)) return fail("the images differ");
  } else if (a.size() == 3 && a[0] == "depth") {
    if (cm::imageio::load_image(a[1]).bit_depth != std::stoi(a[2])) return fail("wrong bit depth");
  } else if (a.size() == 4 && a[0] == "size") {
    const Image image = cm::imageio::load_image(a[1]);
    if (image.width() != std::stoi(a[2]) || image.height() != std::stoi(a[3]))
      return fail("size is " + std::to_string(image.width()) + "×" + std::to_string(image.height()));
  } else {
    return fail("bad arguments (see cli_fixture.cpp)");
  }
  std::puts("ok");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
