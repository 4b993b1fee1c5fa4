#pragma once

// Child processes for the test harness and tools: private PostgreSQL and Redis servers.
// A child dies with its parent (PR_SET_PDEATHSIG), so a crashed test leaves nothing running.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace opsteam::testing {

struct ProcessOptions {
  std::vector<std::string> argv;
  // Drop to this system user before exec (PostgreSQL refuses to run as root).
  std::optional<std::string> run_as_user;
  // stdout and stderr go here (appended); empty = /dev/null.
  std::string log_file;
};

class Process {
 public:
  static absl::StatusOr<Process> Start(const ProcessOptions& options);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();  // SIGKILLs and reaps a child still running

  pid_t pid() const { return pid_; }
  bool Running();
  void Signal(int signal);
  // Waits for exit; returns the exit code (128+signal when killed), or -1 on timeout.
  int Wait(absl::Duration timeout = absl::InfiniteDuration());

 private:
  explicit Process(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// Runs a command to completion and returns its exit code.
absl::StatusOr<int> RunCommand(const ProcessOptions& options,
                               absl::Duration timeout = absl::Minutes(2));

// A TCP port on 127.0.0.1 that was free a moment ago.
int PickFreePort();

// Creates a fresh directory under $TMPDIR (or /tmp); owned by `owner` when given.
absl::StatusOr<std::string> MakeTempDir(const std::string& prefix,
                                        const std::optional<std::string>& owner = std::nullopt);
void RemoveTree(const std::string& path);

}  // namespace opsteam::testing
