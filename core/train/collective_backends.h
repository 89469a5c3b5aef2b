// What the c10d backends of collective.h share (collective_gloo.cpp, collective_nccl.cpp): where
// the ranks meet, and the Collective over a process group. Included only where c10d's headers
// are (never by collective.h's users).
#pragma once

#include "core/base/error.h"
#include "core/train/collective.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>

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

// A Collective over one c10d process group of type Group (ProcessGroupGloo, ProcessGroupNCCL):
// each tensor summed or broadcast as one message on `device`, and a lost peer (one that died, or
// stopped answering within the timeout) as cm::Error(Io) that says every rank stops. A backend
// sets store_ and group_ in its constructor.
template <typename Group>
class GroupCollective : public Collective {
 public:
  int rank() const override { return rank_; }
  int world() const override { return world_; }
  c10::Device device() const override { return device_; }

  void allreduce_sum(std::vector<at::Tensor>& tensors) override {
    each_on(tensors, [&](std::vector<at::Tensor>& one) { finish([&] { return group_->allreduce(one); }, "sum"); });
  }
  void broadcast(std::vector<at::Tensor>& tensors, int root) override {
    c10d::BroadcastOptions options;
    options.rootRank = root;
    each_on(tensors, [&](std::vector<at::Tensor>& one) { finish([&] { return group_->broadcast(one, options); }, "broadcast"); });
  }

 protected:
  GroupCollective(const Rendezvous& r, c10::Device device) : rank_(r.rank), world_(r.world), device_(device) {}

  const int rank_, world_;
  const c10::Device device_;
  c10::intrusive_ptr<c10d::Store> store_;  // the meeting point (rank 0 may host it): kept while the group lives
  c10::intrusive_ptr<Group> group_;

 private:
  // Runs `op` on each tensor as one tensor on device_: the tensor itself when it is there and
  // contiguous, else a copy, whose result is copied back.
  template <typename Op>
  void each_on(std::vector<at::Tensor>& tensors, const Op& op) {
    for (at::Tensor& t : tensors) {
      const bool direct = t.device() == device_ && t.is_contiguous();
      std::vector<at::Tensor> one = {direct ? t : t.to(device_, /*non_blocking=*/false, /*copy=*/true).contiguous()};
      op(one);
      if (!direct) t.copy_(one[0]);
    }
  }
  template <typename Start>
  void finish(const Start& start, const char* what) {
    try {
      start()->wait();
    } catch (const std::exception& e) {
      throw Error(ErrorCode::Io, fmt::format("rank {} of {}: another process of the run died or stopped answering during a {} "
                                             "({}); every rank stops, and the last checkpoint is intact",
                                             rank_, world_, what, first_line(e.what())));
    }
  }
};

}  // namespace cm::train::backend
