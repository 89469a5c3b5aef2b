#include "app/train_distributed.h"

#include "core/base/error.h"
#include "core/engine/device.h"

#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace cli {

using cm::Error;
using cm::ErrorCode;

namespace {

int status_of(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return 70;
}

}  // namespace

std::optional<int> launch_ranks(const std::vector<std::string>& args) {
  std::vector<std::string> rest;
  int nproc = 1;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] != "--nproc") {
      rest.push_back(args[i]);
      continue;
    }
    if (i + 1 == args.size()) throw Error(ErrorCode::BadArgument, "--nproc needs a number of processes");
    char* end = nullptr;
    const long n = std::strtol(args[i + 1].c_str(), &end, 10);
    if (*end || n < 1 || n > 256) throw Error(ErrorCode::BadArgument, "--nproc must be a whole number in 1…256, got '" + args[i + 1] + "'");
    nproc = int(n);
    ++i;
  }
  if (nproc == 1) return std::nullopt;
  if (std::getenv("RANK")) throw Error(ErrorCode::BadArgument, "--nproc in a process that is a rank already (RANK is set)");
  if (!cm::train::has_gloo() && !cm::train::has_nccl())
    throw Error(ErrorCode::Unsupported, "this build has no torch.distributed backend (Gloo, or NCCL on CUDA): install "
                                        "libgloo-dev and rebuild, or leave out --nproc");

  const std::string port = std::to_string(cm::train::free_local_port());
  std::vector<pid_t> ranks;
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = fork();
    if (pid < 0) throw Error(ErrorCode::Io, "cannot start the processes of the run (fork failed)");
    if (pid == 0) {
      setenv("RANK", std::to_string(r).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", port.c_str(), 1);
      std::vector<char*> argv;
      std::string self = "cmedit-train";
      argv.push_back(self.data());
      for (std::string& a : rest) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv("/proc/self/exe", argv.data());
      std::fprintf(stderr, "cmedit-train: cannot start rank %d\n", r);
      _exit(70);
    }
    ranks.push_back(pid);
  }
  // Ctrl-C reaches every rank (the terminal's process group): they stop together after one step
  // and rank 0 writes a checkpoint; this process only waits for them.
  std::signal(SIGINT, SIG_IGN);
  int status = 0;
  std::size_t left = ranks.size();
  while (left > 0) {
    int wstatus = 0;
    const pid_t pid = waitpid(-1, &wstatus, 0);
    if (pid < 0) break;
    --left;
    const int s = status_of(wstatus);
    if (s != 0 && status == 0) {
      status = s;
      for (pid_t other : ranks)
        if (other != pid) kill(other, SIGTERM);
      // A rank blocked in a collective notices its peer is gone and ends; one that does not is killed.
      std::thread([ranks] {
        std::this_thread::sleep_for(std::chrono::seconds(10));
        for (pid_t other : ranks) kill(other, SIGKILL);
      }).detach();
    }
  }
  return status;
}

std::shared_ptr<cm::train::Collective> join_ranks(double timeout_seconds, c10::Device device) {
  if (!(timeout_seconds > 0)) throw Error(ErrorCode::BadArgument, "--timeout must be > 0 seconds");
  return cm::train::connect_from_environment(std::chrono::milliseconds(int64_t(timeout_seconds * 1000)), device);
}

std::string rank_device(const std::string& preference) {
  const char* local = std::getenv("LOCAL_RANK");
  if (!local || !*local || cm::train::rank_variable("WORLD_SIZE", 1) <= 1) return preference;
  if (preference == "cuda" || (preference == "auto" && cm::engine::cuda_status().usable())) return std::string("cuda:") + local;
  return preference;
}

int rank_threads() {
  const int ranks = std::max(1, cm::train::rank_variable("LOCAL_WORLD_SIZE", 1));
  return std::max(1, int(std::thread::hardware_concurrency()) / ranks);
}

}  // namespace cli
