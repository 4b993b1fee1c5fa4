#pragma once

// A private redis-server for tests and local runs: 127.0.0.1, a free port, no persistence,
// log in the given directory. The binary is `redis-server` from PATH unless
// OPSTEAM_REDIS_SERVER names another. Not thread-safe: drive it from one thread.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/testing/process.h"

namespace opsteam::testing {

class RedisServer {
 public:
  // Starts the server with `dir` as its working directory and log location; returns once it
  // answers PING. `dir` must exist and stays the caller's (it is not removed).
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(const std::string& dir);
  ~RedisServer();  // stops the server
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string log_file() const { return dir_ + "/redis.log"; }
  // Whether the server process is alive.
  bool Running();

  // SIGKILLs the server, like a crash; returns once it is gone and its port closed.
  void Kill();
  // Starts the server again on the same port (killing it first if it still runs); returns
  // once it answers PING. The data is gone: there is no persistence.
  absl::Status Restart();

 private:
  RedisServer(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  absl::Status Launch();
  absl::Status WaitReady();
  // OK when our process answers on port_.
  absl::Status Probe();

  std::string dir_;
  int port_;
  std::optional<Process> process_;
};

// The redis-server binary to run: $OPSTEAM_REDIS_SERVER, or `redis-server` from PATH.
std::string RedisServerBinary();

}  // namespace opsteam::testing
