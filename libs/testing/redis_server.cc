#include "libs/testing/redis_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/redis/redis_client.h"

namespace opsteam::testing {
namespace {

constexpr char kHost[] = "127.0.0.1";
constexpr int kStartAttempts = 5;
constexpr absl::Duration kReadyTimeout = absl::Seconds(10);
constexpr absl::Duration kProbeTimeout = absl::Milliseconds(500);

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

// The process_id line of INFO server, or -1.
long long ServerPid(const std::string& info) {
  for (absl::string_view line : absl::StrSplit(info, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::ConsumePrefix(&line, "process_id:")) {
      long long pid = -1;
      if (absl::SimpleAtoi(line, &pid)) return pid;
    }
  }
  return -1;
}

// Whether something accepts connections on 127.0.0.1:port within `timeout`. Checked with a
// bare socket first so that waiting for the server does not fill the log with the client's
// connection warnings. Non-blocking, because a listener that never accepts would otherwise
// hold connect() for minutes of SYN retries.
bool Accepts(int port, absl::Duration timeout) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (!ok && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof(err);
    ok = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) == 1 &&
         getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
  }
  close(fd);
  return ok;
}

}  // namespace

std::string RedisServerBinary() {
  const char* env = std::getenv("OPSTEAM_REDIS_SERVER");
  return env && *env ? env : "redis-server";
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(const std::string& dir) {
  absl::Status last;
  // The free port can be taken between picking and binding: try a few.
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    const int port = PickFreePort();
    if (port <= 0) return absl::InternalError("no free TCP port on 127.0.0.1");
    std::unique_ptr<RedisServer> server(new RedisServer(dir, port));
    last = server->Launch();
    if (last.ok()) return server;
    // Only an exit (UNAVAILABLE; typically "Address already in use") is worth another port:
    // a server that runs but never answers will not do better elsewhere.
    if (!absl::IsUnavailable(last)) return last;
  }
  return last;
}

absl::Status RedisServer::Launch() {
  ProcessOptions opts;
  opts.argv = {RedisServerBinary(), "--port", absl::StrCat(port_), "--bind", kHost,
               "--save", "", "--appendonly", "no", "--dir", dir_,
               "--daemonize", "no", "--protected-mode", "yes"};
  opts.log_file = log_file();
  auto p = Process::Start(opts);
  if (!p.ok()) return p.status();
  process_.emplace(std::move(*p));
  absl::Status ready = WaitReady();
  if (!ready.ok()) Kill();  // leave nothing half-started behind
  return ready;
}

absl::Status RedisServer::Probe() {
  if (!Accepts(port_, kProbeTimeout)) {
    return absl::UnavailableError(absl::StrCat("port ", port_, " refuses connections"));
  }
  // A fresh client per probe: the client's own reconnect backoff would only slow this down.
  redis::Options options;
  options.host = kHost;
  options.port = port_;
  options.connect_timeout = kProbeTimeout;
  options.command_timeout = kProbeTimeout;
  redis::Client client(options);
  // INFO rather than PING: it also proves the answer comes from our process and not from
  // some other server that grabbed the port first.
  absl::StatusOr<redis::Reply> info = client.Command({"INFO", "server"});
  if (!info.ok()) return info.status();
  if (ServerPid(info->str) != process_->pid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("port ", port_, " is answered by another Redis process"));
  }
  return absl::OkStatus();
}

absl::Status RedisServer::WaitReady() {
  const absl::Time deadline = absl::Now() + kReadyTimeout;
  absl::Duration backoff = absl::Milliseconds(5);
  absl::Status last;
  while (true) {
    if (!process_->Running()) {
      const int code = process_->Wait();
      // 127: exec failed; another port will not help. Otherwise UNAVAILABLE (usually the
      // port was taken) tells the callers to try again.
      if (code == 127) {
        return absl::FailedPreconditionError(absl::StrCat(
            "cannot run ", RedisServerBinary(), " (not on PATH? set OPSTEAM_REDIS_SERVER)"));
      }
      return absl::UnavailableError(absl::StrCat(RedisServerBinary(), " on port ", port_,
                                                 " exited with code ", code, "; log ",
                                                 log_file(), ":\n", Tail(log_file())));
    }
    // Checked after the exit test, so a server that died during a slow probe says so.
    if (absl::Now() >= deadline) break;
    last = Probe();
    if (last.ok()) return last;
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      RedisServerBinary(), " on port ", port_, " did not answer within ",
      absl::FormatDuration(kReadyTimeout), " (", last.ToString(), "); log ", log_file(), ":\n",
      Tail(log_file())));
}

bool RedisServer::Running() { return process_ && process_->Running(); }

void RedisServer::Kill() {
  if (!process_) return;
  process_->Signal(SIGKILL);
  process_->Wait();
  process_.reset();
}

absl::Status RedisServer::Restart() {
  Kill();
  absl::Status last;
  // The same port is required (clients hold it); it can only be refused if someone else
  // bound it meanwhile, so a few attempts are enough to ride out a transient clash.
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    last = Launch();
    if (last.ok() || !absl::IsUnavailable(last)) return last;
    absl::SleepFor(absl::Milliseconds(100) * (attempt + 1));
  }
  return last;
}

RedisServer::~RedisServer() {
  if (!process_) return;
  // SIGTERM is a clean shutdown (nothing to save); SIGKILL if it hangs.
  process_->Signal(SIGTERM);
  if (process_->Wait(absl::Seconds(5)) == -1) process_->Signal(SIGKILL);
  process_->Wait();
}

}  // namespace opsteam::testing
