// quality's classical baselines, through OpenCV: the fills and the enlargement the model's edits
// are compared with. Images are [1, 3, H, W] float in [−1, 1], masks [1, 1, H, W] (> 0 = hole).
#pragma once

#include <ATen/ATen.h>
#include <opencv2/core.hpp>

namespace cm::bench {

// 8-bit BGR for OpenCV, and back.
cv::Mat to_bgr8(const at::Tensor& image);
at::Tensor from_bgr8(const cv::Mat& bgr);

// cv::inpaint with a 3-px radius: cv::INPAINT_TELEA (Telea 2004) or cv::INPAINT_NS (Navier-Stokes).
at::Tensor opencv_inpaint(const at::Tensor& photo, const at::Tensor& mask, int method);

#ifdef CMEDIT_HAVE_XPHOTO
// opencv_contrib's xphoto fills (cv::xphoto::INPAINT_FSR_FAST, INPAINT_SHIFTMAP).
at::Tensor xphoto_inpaint(const at::Tensor& photo, const at::Tensor& mask, int method);
#endif

// Bicubic enlargement by `factor`.
at::Tensor bicubic_up(const at::Tensor& low, int factor);

}  // namespace cm::bench
