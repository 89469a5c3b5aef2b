// Precompiled for every torch-using core TU: <ATen/ATen.h> alone costs ~9 s per TU on the
// 2-core CI machine. Kept to ATen (not <torch/torch.h>, 22 s) because the core needs tensors
// and ops, not the nn module system.
#pragma once
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>
