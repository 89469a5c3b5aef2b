#include "core/expect_error.h"
#include "core/sampling/karras.h"

#include <gtest/gtest.h>

namespace {

using cm::sampling::karras_sigma;
using cm::sampling::karras_sigmas;

// Values from spec §1.5 (official code, N = 40), given to 6 significant digits there.
TEST(Karras, MatchesTheOfficialFortyPointSchedule) {
  const std::vector<double> s = karras_sigmas(40);
  ASSERT_EQ(s.size(), 40u);
  const std::pair<int, double> table[] = {{0, 80.0},     {1, 69.4509},   {10, 16.7799},  {17, 4.36556},
                                          {18, 3.51970}, {22, 1.38237},  {30, 0.131197}, {38, 0.00367659},
                                          {39, 0.002}};
  for (const auto& [i, expected] : table) EXPECT_NEAR(s[i], expected, expected * 5e-6) << "index " << i;
}

TEST(Karras, MatchesTheMiddleIndicesOfThePublishedTwoStepCommands) {
  EXPECT_NEAR(karras_sigma(22, 40), 1.382368, 1e-6);   // cd_imagenet64
  EXPECT_NEAR(karras_sigma(106, 201), 1.912844, 1e-6); // ct_imagenet64
  EXPECT_NEAR(karras_sigma(67, 151), 3.991219, 1e-6);  // ct_bedroom256
  EXPECT_NEAR(karras_sigma(62, 151), 5.248503, 1e-6);  // ct_cat256
}

TEST(Karras, DecreasesStrictlyFromSigmaMaxToSigmaMin) {
  const std::vector<double> s = karras_sigmas(151);
  EXPECT_DOUBLE_EQ(s.front(), 80.0);
  EXPECT_NEAR(s.back(), 0.002, 1e-15);
  for (std::size_t i = 1; i < s.size(); ++i) EXPECT_LT(s[i], s[i - 1]);
}

TEST(Karras, RejectsImpossibleSchedules) {
  EXPECT_CM_ERROR(karras_sigmas(1), cm::ErrorCode::BadArgument, "at least 2 points");
  EXPECT_CM_ERROR(karras_sigma(40, 40), cm::ErrorCode::BadArgument, "outside 0…39");
  EXPECT_CM_ERROR(karras_sigma(-1, 40), cm::ErrorCode::BadArgument, "outside");
  EXPECT_CM_ERROR(karras_sigmas(10, cm::model::NoiseRange{1.0, 0.5, 0.5}), cm::ErrorCode::BadArgument, "σ_min < σ_max");
}

}  // namespace
