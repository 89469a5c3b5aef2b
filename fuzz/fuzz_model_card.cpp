// libFuzzer harness: the model card (model.json) parser, the UNet flags in it included, then
// the parameter list the architecture implies. Any input either reads or throws cm::Error.
#include "core/base/error.h"
#include "core/model/model_card.h"
#include "core/model/unet.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const cm::model::ModelCard card = cm::model::read_model_card(cm::fuzz::as_file(data, size));
    // A card that reads must describe a buildable network: its parameter list must not crash.
    std::int64_t total = 0;
    for (const auto& spec : cm::model::unet_parameter_specs(card.architecture)) total += spec.numel();
    (void)total;
  } catch (const cm::Error&) {
  }
  return 0;
}
