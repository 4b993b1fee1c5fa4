#pragma once

// A private PostgreSQL 15 server for tests and local runs: initdb into a fresh directory,
// start on 127.0.0.1 and a free port, trust authentication, durability off for speed.
// When running as root the server runs as the `postgres` system user, which owns the
// directory.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "libs/testing/process.h"

namespace opsteam::testing {

class PgServer {
 public:
  static absl::StatusOr<std::unique_ptr<PgServer>> Start();
  ~PgServer();

  int port() const { return port_; }
  // A libpq key=value connection string for `database`.
  std::string ConnInfo(absl::string_view database) const;

  // Stops the server abruptly (like a crash) and starts it again on the same port.
  absl::Status Restart();

 private:
  PgServer(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  absl::Status Launch();
  absl::Status WaitReady();

  std::string dir_;
  int port_;
  std::optional<Process> process_;
};

// Directory of the PostgreSQL server binaries (OPSTEAM_PG_BIN, default
// /usr/lib/postgresql/15/bin).
std::string PgBinDir();

}  // namespace opsteam::testing
