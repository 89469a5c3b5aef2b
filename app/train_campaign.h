// `cmedit-train campaign`: one window of the built-in model's training campaign.
//
// A campaign is trained in short, rare windows (a GPU lent for minutes), each continuing where the
// last stopped. What continues it lives in the repository and travels with the working tree:
//
//   STATE/campaign.json       the TrainConfig, the step, the images seen, one record per window
//   STATE/online.safetensors  the online network in bf16 (absent before the first window: the
//                             online network then starts from the model's weights)
//   MODEL/                    the shipped model. When it is this campaign's export at this step
//                             (its weights' metadata "campaign_step"), it is the run's EMA;
//                             otherwise (the last window's model was not shipped) the EMA
//                             restarts from the online weights.
//
// The state is committed after every window; the model only when it is no worse. The optimizer
// moments do not travel (they would double the size): every window starts them afresh, and
// RAdam's rectified first steps re-warm them. A window trains for a wall-clock
// budget and writes to OUT the next state (campaign.json, online.safetensors), the model
// (OUT/model: fp16 weights, card, attribution), loss.csv and samples.png.
#pragma once

#include <string>
#include <vector>

namespace cli {

// args[0] is "campaign". Returns the exit status; throws cm::Error for bad input.
int campaign_command(const std::vector<std::string>& args);

}  // namespace cli
