// What the c10d backends of collective.h share (collective_gloo.cpp, collective_nccl.cpp): where
// the ranks meet, the wait that turns a lost peer into cm::Error, and the copy of a tensor to the
// backend's device. Included only where c10d's headers are (never by collective.h's users).
#pragma once

#include "core/base/error.h"
#include "core/train/collective.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace cm::train::backend {

// The run's TCPStore (rank 0 hosts it, unless it is hosted elsewhere), once every rank has reached
// it: a rank that never comes is reported after `timeout`, before any backend starts waiting for
// it in its own way (NCCL's communicators form only at the first collective, and would wait
// without a bound).
c10::intrusive_ptr<c10d::Store> meet(const Rendezvous& r);

std::unique_ptr<Collective> connect_gloo(const Rendezvous& r);
std::unique_ptr<Collective> connect_nccl(const Rendezvous& r, c10::Device device);

inline std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// Starts a collective and waits for it; a failure (a peer died, or stopped answering within the
// timeout) becomes cm::Error(Io) that says every rank stops.
template <typename Start>
void finish(const Start& start, const Collective& c, const char* what) {
  try {
    start()->wait();
  } catch (const std::exception& e) {
    throw Error(ErrorCode::Io, fmt::format("rank {} of {}: another process of the run died or stopped answering during a {} "
                                           "({}); every rank stops, and the last checkpoint is intact",
                                           c.rank(), c.world(), what, first_line(e.what())));
  }
}

// Runs `op` on each tensor as one tensor on `device`: the tensor itself when it is there and
// contiguous, else a copy, whose result is copied back.
template <typename Op>
void each_on(std::vector<at::Tensor>& tensors, c10::Device device, const Op& op) {
  for (at::Tensor& t : tensors) {
    const bool direct = t.device() == device && t.is_contiguous();
    std::vector<at::Tensor> one = {direct ? t : t.to(device, /*non_blocking=*/false, /*copy=*/true).contiguous()};
    op(one);
    if (!direct) t.copy_(one[0]);
  }
}

}  // namespace cm::train::backend
