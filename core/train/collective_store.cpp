// Where the ranks of a run meet (collective_backends.h): rank 0's TCPStore, and a count of the
// ranks that reached it.
#include "core/train/collective_backends.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace cm::train::backend {

c10::intrusive_ptr<c10d::Store> meet(const Meeting& m) {
  c10d::TCPStoreOptions options;
  options.port = std::uint16_t(m.port);
  options.isServer = m.rank == 0;
  options.numWorkers = std::size_t(m.world);
  options.waitWorkers = false;
  options.timeout = m.timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(m.addr, options);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::Io, fmt::format("rank {} of {} could not join the run at {}:{}: {}", m.rank, m.world, m.addr,
                                           m.port, first_line(e.what())));
  }
  // The last rank to arrive says so; the others wait for that word at most `timeout`.
  const std::string arrived = "cmedit/arrived", all = "cmedit/all-arrived";
  if (store->add(arrived, 1) == m.world) store->set(all, std::vector<uint8_t>{1});
  try {
    store->wait({all}, m.timeout);
  } catch (const std::exception&) {
    const int64_t n = store->add(arrived, 0);
    throw Error(ErrorCode::Io, fmt::format("rank {} of {}: only {} of the {} processes of the run reached {}:{} within {:g} s",
                                           m.rank, m.world, n, m.world, m.addr, m.port, m.timeout.count() / 1000.0));
  }
  return store;
}

}  // namespace cm::train::backend
