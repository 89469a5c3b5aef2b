// libFuzzer harness: the .safetensors reader. Any input either reads or throws cm::Error; any
// other exception, a crash, a leak or a sanitizer report is a finding.
#include "core/base/error.h"
#include "core/model/safetensors.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)cm::model::read_safetensors(cm::fuzz::as_file(data, size));
  } catch (const cm::Error&) {
  }
  return 0;
}
