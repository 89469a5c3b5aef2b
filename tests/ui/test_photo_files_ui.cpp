// Photos as people have them, in the editor (issue 32): a phone's HEIC opens and says what it is,
// the export keeps its EXIF and colour profile, and the export dialog offers to leave the camera
// data out and to convert to sRGB, only where that applies.
#include "ui/editor_fixture.h"

#include "core/imageio/image_file.h"
#include "core/dng_writer.h"
#include "core/photo_files.h"
#include "core/imageio/format_table.h"
#include "ui/export_options.h"

#include <QApplication>
#include <QCheckBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QLabel>
#include <QPushButton>
#include <QStatusBar>
#include <QTimer>

#include <ATen/ATen.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace {

using namespace cm::ui::testing;

QString status_info(cm::ui::MainWindow& window) {
  for (QLabel* label : window.statusBar()->findChildren<QLabel*>())
    if (label->text().contains(QStringLiteral("-bit"))) return label->text();
  return {};
}

// A 48×32 phone photo (EXIF, XMP, Display P3) as `name` in `dir`.
QString phone_photo(const QTemporaryDir& dir, const char* name) {
  cm::imageio::Image image;
  const at::Tensor x = at::linspace(-0.9, 0.9, 48).view({1, 1, 1, 48}).expand({1, 1, 32, 48});
  image.rgb = at::cat({x, -x, 0.3 * x}, 1).contiguous();
  image.metadata = cm::testing::phone_metadata();
  const QString path = dir.filePath(QLatin1String(name));
  cm::imageio::save_image(path.toStdString(), image);
  return path;
}

TEST_F(Editor, APhonesHeicOpensAndItsExportKeepsTheCameraDataAndColours) {
  ASSERT_TRUE(window.openImage(phone_photo(dir, "phone.heic"))) << window.lastError().toStdString();
  EXPECT_TRUE(status_info(window).contains(QStringLiteral("48 × 32, 8-bit RGB · HEIC"))) << status_info(window).toStdString();
  EXPECT_TRUE(status_info(window).contains(QStringLiteral("Display P3"))) << status_info(window).toStdString();

  const QString kept = dir.filePath(QStringLiteral("kept.jpg")), bare = dir.filePath(QStringLiteral("bare.jpg"));
  ASSERT_TRUE(window.exportTo(kept)) << window.lastError().toStdString();
  const cm::testing::FileTags tags = cm::testing::read_tags(kept.toStdString());
  EXPECT_EQ(tags.exif_value("Exif.Image.Model"), "Fixture Camera");
  EXPECT_EQ(cm::testing::profile_description(tags.icc), "Display P3");
  ASSERT_TRUE(window.exportTo(bare, 95, 0, /*strip_metadata=*/true)) << window.lastError().toStdString();
  EXPECT_EQ(cm::testing::read_tags(bare.toStdString()).exif_value("Exif.Image.Model"), "");

  // Another photo without metadata: nothing of the first one's goes into its export.
  openPhoto(20, 10, [](int x, int y) { return QColor(10 * x, 20 * y, 50); });
  const QString plain = dir.filePath(QStringLiteral("plain.jpg"));
  ASSERT_TRUE(window.exportTo(plain));
  EXPECT_TRUE(cm::testing::read_tags(plain.toStdString()).exif.empty());
  EXPECT_TRUE(cm::testing::read_tags(plain.toStdString()).icc.empty());
}

// A wide-gamut photo whose colours lie outside sRGB: exported unedited from the editor, its file
// values come back exactly (the canvas shows sRGB; the export writes the file's own values back).
TEST_F(Editor, AWideGamutPhotoExportedUneditedKeepsEveryValue) {
  cv::Mat values(24, 32, CV_8UC3);
  for (int y = 0; y < values.rows; ++y)
    for (int x = 0; x < values.cols; ++x) values.at<cv::Vec3b>(y, x) = x < 16 ? cv::Vec3b(0, 0, 255) : cv::Vec3b(30, 255, uchar(9 * y));
  const QString in = dir.filePath(QStringLiteral("vivid.png")), out = dir.filePath(QStringLiteral("out.png"));
  cv::imwrite(in.toStdString(), values);
  cm::imageio::FileMetadata p3;
  p3.icc = cm::testing::display_p3_profile();
  cm::testing::write_tags(in.toStdString(), p3);
  ASSERT_TRUE(window.openImage(in)) << window.lastError().toStdString();
  ASSERT_TRUE(window.exportTo(out)) << window.lastError().toStdString();
  cv::Mat diff;
  cv::absdiff(values, cv::imread(out.toStdString(), cv::IMREAD_UNCHANGED), diff);
  EXPECT_EQ(cv::norm(diff, cv::NORM_INF), 0.0);
}

TEST_F(Editor, ACameraRawOpensAndSaysHowItWasDeveloped) {
  const QString path = dir.filePath(QStringLiteral("shot.dng"));
  cm::testing::write_dng(path.toStdString(), 64, 48);
  ASSERT_TRUE(window.openImage(path)) << window.lastError().toStdString();
  EXPECT_TRUE(status_info(window).contains(QStringLiteral("64 × 48, 16-bit RGB · RAW (cmedit Test DNG)"))) << status_info(window).toStdString();
  EXPECT_TRUE(window.statusBar()->currentMessage().contains(QStringLiteral("developed as shot")))
      << window.statusBar()->currentMessage().toStdString();
}

TEST(ExportOptions, OnlyWhatAppliesIsAsked) {
  using cm::ui::ExportContext;
  EXPECT_FALSE(cm::ui::exportHasChoices(ExportContext{QStringLiteral("webp"), 8, false, QString()}));
  EXPECT_FALSE(cm::ui::exportHasChoices(ExportContext{QStringLiteral("bmp"), 8, true, QStringLiteral("Display P3")}));
  EXPECT_TRUE(cm::ui::exportHasChoices(ExportContext{QStringLiteral("webp"), 8, true, QString()}));
  EXPECT_TRUE(cm::ui::exportHasChoices(ExportContext{QStringLiteral("jpg"), 8, false, QString()}));
  EXPECT_TRUE(cm::ui::exportHasChoices(ExportContext{QStringLiteral("png"), 8, false, QString()}));
}

// The export dialog's file types are imageio's table of writable formats, so a format the table
// gains is offered without a second list; the suggestion keeps the photo's own suffix.
TEST(ExportOptions, TheFileTypesAreTheWritableFormats) {
  const QStringList types = cm::ui::exportFileTypes();
  ASSERT_EQ(std::size_t(types.size()), cm::imageio::writable_formats().size());
  EXPECT_EQ(types.front(), QStringLiteral("PNG (*.png)"));
  EXPECT_TRUE(types.contains(QStringLiteral("JPEG (*.jpg *.jpeg)"))) << types.join(QLatin1Char(';')).toStdString();
  EXPECT_TRUE(types.contains(QStringLiteral("JPEG XL (*.jxl)")));
  EXPECT_EQ(cm::ui::exportSuffixOf(QStringLiteral("HEIC (*.heic *.heif)")), QStringLiteral("heic"));

  const auto offered = [](const char* suffix, bool raw) {
    const cm::ui::ExportFileType t = cm::ui::exportFileTypeFor(QString::fromLatin1(suffix), raw);
    return (t.filter + QStringLiteral(" → ") + t.suffix).toStdString();
  };
  EXPECT_EQ(offered("JPEG", false), "JPEG (*.jpg *.jpeg) → jpeg");
  EXPECT_EQ(offered("heif", false), "HEIC (*.heic *.heif) → heif");
  EXPECT_EQ(offered("tif", false), "TIFF (*.tif *.tiff) → tif");
  EXPECT_EQ(offered("dng", true), "TIFF (*.tif *.tiff) → tif") << "a camera RAW cannot be written";
  EXPECT_EQ(offered("gif", false), "PNG (*.png) → png") << "nor can a GIF";
}

TEST(ExportOptions, TheDialogOffersToStripAndToConvertToSrgb) {
  std::optional<cm::ui::ExportChoices> choices;
  QString srgb_text;
  bool saw_quality = false;
  QTimer::singleShot(0, [&] {
    auto* dialog = qobject_cast<QDialog*>(QApplication::activeModalWidget());
    ASSERT_TRUE(dialog);
    auto* strip = dialog->findChild<QCheckBox*>(QStringLiteral("strip"));
    auto* srgb = dialog->findChild<QCheckBox*>(QStringLiteral("srgb"));
    saw_quality = dialog->findChild<QWidget*>(QStringLiteral("quality")) != nullptr;
    ASSERT_TRUE(strip && srgb);
    srgb_text = srgb->text();
    strip->setChecked(true);
    dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok)->click();
  });
  choices = cm::ui::askExportChoices(nullptr, {QStringLiteral("jpg"), 8, true, QStringLiteral("Display P3")});
  ASSERT_TRUE(choices.has_value());
  EXPECT_TRUE(saw_quality);
  EXPECT_TRUE(srgb_text.contains(QStringLiteral("Display P3"))) << srgb_text.toStdString();
  EXPECT_TRUE(choices->strip_metadata);
  EXPECT_FALSE(choices->as_srgb);
  EXPECT_EQ(choices->quality, 95);

  QTimer::singleShot(0, [] { QApplication::activeModalWidget()->close(); });  // Escape, the window's ×
  EXPECT_FALSE(cm::ui::askExportChoices(nullptr, {QStringLiteral("png"), 16, true, QString()}).has_value());
}

}  // namespace
