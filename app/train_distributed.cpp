#include "app/train_distributed.h"

#include "core/base/error.h"
#include "core/engine/device.h"

#include <fmt/format.h>

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>

namespace cli {

using cm::Error;
using cm::ErrorCode;

namespace {

// In a child about to become a rank: the launcher's sockets (the store it hosts) stay the
// launcher's, so the store ends with it.
void close_inherited_files() {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0) return;
#endif
  for (int fd = 3; fd < 4096; ++fd) close(fd);
}

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

  // This process hosts the ranks' meeting point, as torchrun's agent does, so they are all its clients.
  const cm::train::HostedStore store = cm::train::host_store();
  // Everything the children need is made here: with the store's thread running, a child may call
  // only what is safe after fork() (no malloc) until it execs.
  std::vector<std::string> arg_text = {"cmedit-train"};
  arg_text.insert(arg_text.end(), rest.begin(), rest.end());
  std::vector<char*> argv;
  for (std::string& a : arg_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string port = std::to_string(store.port), world = std::to_string(nproc);
  std::vector<std::vector<std::string>> env_text;
  std::vector<std::vector<char*>> envp;
  for (int r = 0; r < nproc; ++r) {
    const std::map<std::string, std::string> rank_variables = {
        {"RANK", std::to_string(r)},       {"LOCAL_RANK", std::to_string(r)},   {"WORLD_SIZE", world},
        {"LOCAL_WORLD_SIZE", world},       {"MASTER_ADDR", "127.0.0.1"},        {"MASTER_PORT", port},
        {"TORCHELASTIC_USE_AGENT_STORE", "True"}, {"TORCHELASTIC_RESTART_COUNT", "0"}};
    std::vector<std::string>& text = env_text.emplace_back();
    for (char** e = environ; *e; ++e)
      if (!rank_variables.count(std::string(*e, std::strcspn(*e, "=")))) text.emplace_back(*e);
    for (const auto& [name, value] : rank_variables) text.push_back(name + "=" + value);
  }
  for (std::vector<std::string>& text : env_text) {
    std::vector<char*>& e = envp.emplace_back();
    for (std::string& t : text) e.push_back(t.data());
    e.push_back(nullptr);
  }
  std::vector<pid_t> ranks;
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = fork();
    if (pid < 0) throw Error(ErrorCode::Io, "cannot start the processes of the run (fork failed)");
    if (pid == 0) {
      close_inherited_files();
      execve("/proc/self/exe", argv.data(), envp[std::size_t(r)].data());
      const char message[] = "cmedit-train: cannot start a rank of the run\n";
      (void)!write(2, message, sizeof message - 1);
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
