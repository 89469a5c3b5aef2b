// A training run's configuration (core/train/train_config.cpp): JSON round trip and checks.
#include "core/expect_error.h"
#include "core/train/trainer.h"
#include "core/train_fixtures.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using namespace cm::train;
using cm::ErrorCode;

TEST(TrainConfigJson, RoundTripsAndRefusesNonsense) {
  TrainConfig c = cm::testing::tiny_config(TrainMode::Cd, 123);
  c.teacher = "/models/edm";
  c.cd_metric = Metric::L1;
  c.optimizer.warmup_steps = 7;
  const TrainConfig back = train_config_from_json(to_json(c));
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_EQ(back.mode, TrainMode::Cd);
  EXPECT_EQ(back.cd_metric, Metric::L1);
  EXPECT_CM_ERROR(train_config_from_json(nlohmann::json::object()), ErrorCode::CorruptFile, "needs at least 'mode'");
  nlohmann::json j = to_json(c);
  j["batch"] = "many";
  EXPECT_CM_ERROR(train_config_from_json(j), ErrorCode::CorruptFile, "'batch' has the wrong type");
  c.batch = 0;
  EXPECT_CM_ERROR(c.validate(), ErrorCode::BadArgument, "batch size");
  EXPECT_CM_ERROR(parse_train_mode("dpm"), ErrorCode::BadArgument, "ct, ect, cd or edm");
}

}  // namespace
