#include "libs/testing/pg_server.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/pg/pg.h"

namespace opsteam::testing {
namespace {

std::optional<std::string> ServerUser() {
  if (geteuid() == 0) return std::string("postgres");
  return std::nullopt;
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

}  // namespace

std::string PgBinDir() {
  const char* env = std::getenv("OPSTEAM_PG_BIN");
  return env && *env ? env : "/usr/lib/postgresql/15/bin";
}

absl::StatusOr<std::unique_ptr<PgServer>> PgServer::Start() {
  auto dir = MakeTempDir("opsteam-pg-", ServerUser());
  if (!dir.ok()) return dir.status();
  ProcessOptions init;
  init.argv = {PgBinDir() + "/initdb", "-D", *dir + "/data", "-U", "postgres", "--auth=trust",
               "--no-sync", "-E", "UTF8", "--locale=C"};
  init.run_as_user = ServerUser();
  init.log_file = *dir + "/initdb.log";
  auto code = RunCommand(init);
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return absl::InternalError(absl::StrCat("initdb failed: ", Tail(init.log_file)));
  }
  std::unique_ptr<PgServer> server;
  absl::Status last;
  // The free port can be taken between picking and binding: try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    server.reset(new PgServer(*dir, PickFreePort()));
    last = server->Launch();
    if (last.ok()) return server;
    server->process_.reset();
    server->dir_.clear();  // keep the directory for the next attempt
  }
  RemoveTree(*dir);
  return last;
}

absl::Status PgServer::Launch() {
  ProcessOptions opts;
  opts.argv = {PgBinDir() + "/postgres", "-D", dir_ + "/data", "-p", absl::StrCat(port_),
               "-k", dir_, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
               "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
               "-c", "max_connections=300", "-c", "shared_buffers=128MB"};
  opts.run_as_user = ServerUser();
  opts.log_file = dir_ + "/postgres.log";
  auto p = Process::Start(opts);
  if (!p.ok()) return p.status();
  process_.emplace(std::move(*p));
  return WaitReady();
}

absl::Status PgServer::WaitReady() {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  absl::Duration backoff = absl::Milliseconds(20);
  while (absl::Now() < deadline) {
    if (!process_->Running()) {
      return absl::UnavailableError(
          absl::StrCat("postgres exited: ", Tail(dir_ + "/postgres.log")));
    }
    auto conn = pg::Connection::Open(ConnInfo("postgres"), absl::Seconds(2));
    if (conn.ok()) return absl::OkStatus();
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(200));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("postgres did not start: ", Tail(dir_ + "/postgres.log")));
}

std::string PgServer::ConnInfo(absl::string_view database) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " user=postgres dbname=", database);
}

absl::Status PgServer::Restart() {
  process_->Signal(SIGKILL);
  process_->Wait();
  // SIGKILL of the postmaster leaves its children to exit on their own; wait for the
  // shared-memory lock to clear so the new postmaster can start.
  process_.reset();
  absl::Status last;
  for (int attempt = 0; attempt < 50; ++attempt) {
    last = Launch();
    if (last.ok()) return last;
    process_.reset();
    absl::SleepFor(absl::Milliseconds(100));
  }
  return last;
}

PgServer::~PgServer() {
  if (process_) {
    // Fast shutdown: SIGINT. Fall back to SIGKILL if it hangs.
    process_->Signal(SIGINT);
    if (process_->Wait(absl::Seconds(10)) == -1) process_->Signal(SIGKILL);
    process_->Wait();
  }
  if (!dir_.empty()) RemoveTree(dir_);
}

}  // namespace opsteam::testing
