// Where the ranks of a run meet (collective_backends.h): a TCPStore, hosted by rank 0 or by the
// process that started the ranks, and a count of the ranks that reached it.
#include "core/train/collective_backends.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace cm::train {

namespace backend {

c10::intrusive_ptr<c10d::Store> meet(const Rendezvous& r) {
  c10d::TCPStoreOptions options;
  options.port = std::uint16_t(r.port);
  options.isServer = r.rank == 0 && !r.hosted_elsewhere;
  options.numWorkers = std::size_t(r.world);
  options.waitWorkers = false;
  options.timeout = r.timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(r.addr, options);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::Io, fmt::format("rank {} of {} could not join the run at {}:{}: {}", r.rank, r.world, r.addr, r.port,
                                           first_line(e.what())));
  }
  // A store that outlives one attempt (torchrun's agent restarts the ranks) is read under the
  // attempt's prefix, as torch.distributed does.
  if (r.hosted_elsewhere) store = c10::make_intrusive<c10d::PrefixStore>(fmt::format("/worker/attempt_{}", r.attempt), store);
  // The last rank to arrive says so; the others wait for that word at most `timeout`.
  const std::string arrived = "cmedit/arrived", all = "cmedit/all-arrived";
  if (store->add(arrived, 1) == r.world) store->set(all, std::vector<uint8_t>{1});
  try {
    store->wait({all}, r.timeout);
  } catch (const std::exception&) {
    const int64_t n = store->add(arrived, 0);
    throw Error(ErrorCode::Io, fmt::format("rank {} of {}: only {} of the {} processes of the run reached {}:{} within {:g} s",
                                           r.rank, r.world, n, r.world, r.addr, r.port, double(r.timeout.count()) / 1000.0));
  }
  return store;
}

}  // namespace backend

HostedStore host_store() {
  c10d::TCPStoreOptions options;
  options.port = 0;  // the kernel's choice
  options.isServer = true;
  options.waitWorkers = false;
  try {
    auto store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", options);
    const int port = store->getPort();
    // shared_ptr<void> keeps the store's reference (and its server) alive, whatever its type.
    return {port, std::shared_ptr<void>(store.release(), [](void* p) { c10::intrusive_ptr<c10d::TCPStore>::reclaim(static_cast<c10d::TCPStore*>(p)); })};
  } catch (const std::exception& e) {
    throw Error(ErrorCode::Io, fmt::format("cannot host the run's meeting point on 127.0.0.1: {}", backend::first_line(e.what())));
  }
}

}  // namespace cm::train
