// libFuzzer harness: the torch.save zip checkpoint (.pt) reader, our restricted unpickler
// included. Any input either reads or throws cm::Error.
#include "core/base/error.h"
#include "core/model/torch_checkpoint.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)cm::model::read_torch_checkpoint(cm::fuzz::as_file(data, size));
  } catch (const cm::Error&) {
  }
  return 0;
}
