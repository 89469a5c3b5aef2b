#include "bench/quality_baselines.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>
#ifdef CMEDIT_HAVE_XPHOTO
#include <opencv2/xphoto.hpp>
#endif

namespace cm::bench {

cv::Mat to_bgr8(const at::Tensor& image) {
  const at::Tensor hwc = ((image[0].permute({1, 2, 0}) + 1) * 127.5).round().clamp(0, 255).to(at::kByte).contiguous();
  cv::Mat rgb(int(hwc.size(0)), int(hwc.size(1)), CV_8UC3, hwc.data_ptr<uint8_t>()), bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

at::Tensor from_bgr8(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  const at::Tensor hwc = at::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, at::kByte).clone();
  return hwc.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat) / 127.5 - 1;
}

at::Tensor opencv_inpaint(const at::Tensor& photo, const at::Tensor& mask, int method) {
  const at::Tensor m8 = (mask[0][0] > 0).to(at::kByte).mul(255).contiguous();
  const cv::Mat m(int(m8.size(0)), int(m8.size(1)), CV_8U, m8.data_ptr<uint8_t>());
  cv::Mat out;
  cv::inpaint(to_bgr8(photo), m, out, 3, method);
  return from_bgr8(out);
}

#ifdef CMEDIT_HAVE_XPHOTO
// Its mask marks the *known* pixels.
at::Tensor xphoto_inpaint(const at::Tensor& photo, const at::Tensor& mask, int method) {
  const at::Tensor m8 = (mask[0][0] <= 0).to(at::kByte).mul(255).contiguous();
  const cv::Mat m(int(m8.size(0)), int(m8.size(1)), CV_8U, m8.data_ptr<uint8_t>());
  cv::Mat out;
  cv::xphoto::inpaint(to_bgr8(photo), m, out, method);
  return from_bgr8(out);
}
#endif

at::Tensor bicubic_up(const at::Tensor& low, int factor) {
  cv::Mat out;
  cv::resize(to_bgr8(low), out, cv::Size(), factor, factor, cv::INTER_CUBIC);
  return from_bgr8(out);
}

}  // namespace cm::bench
