#include "libs/testing/process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace opsteam::testing {

absl::StatusOr<Process> Process::Start(const ProcessOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("argv is empty");
  uid_t uid = 0;
  gid_t gid = 0;
  bool switch_user = false;
  if (options.run_as_user && geteuid() == 0) {
    passwd* pw = getpwnam(options.run_as_user->c_str());
    if (pw == nullptr) return absl::NotFoundError(absl::StrCat("no user ", *options.run_as_user));
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    switch_user = true;
  }
  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    // Child: only async-signal-safe calls from here to exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    setpgid(0, 0);
    int out = options.log_file.empty()
                  ? open("/dev/null", O_WRONLY)
                  : open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
      dup2(out, STDOUT_FILENO);
      dup2(out, STDERR_FILENO);
      close(out);
    }
    int in = open("/dev/null", O_RDONLY);
    if (in >= 0) {
      dup2(in, STDIN_FILENO);
      close(in);
    }
    if (switch_user) {
      if (setgid(gid) != 0 || setuid(uid) != 0) _exit(125);
      // setuid clears the death signal; set it again for the unprivileged child.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
    }
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return Process(pid);
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), exit_code_(other.exit_code_) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !exit_code_) {
      Signal(SIGKILL);
      Wait();
    }
    pid_ = std::exchange(other.pid_, -1);
    exit_code_ = other.exit_code_;
  }
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && !exit_code_) {
    Signal(SIGKILL);
    Wait();
  }
}

void Process::Signal(int signal) {
  // The child leads its own process group: signal the group so helpers it forked
  // (PostgreSQL backends) go too.
  if (pid_ > 0 && !exit_code_ && kill(-pid_, signal) != 0) kill(pid_, signal);
}

bool Process::Running() {
  if (pid_ <= 0 || exit_code_) return false;
  return Wait(absl::ZeroDuration()) == -1;
}

int Process::Wait(absl::Duration timeout) {
  if (exit_code_) return *exit_code_;
  if (pid_ <= 0) return -1;
  const absl::Time deadline = timeout == absl::InfiniteDuration() ? absl::InfiniteFuture()
                                                                    : absl::Now() + timeout;
  absl::Duration backoff = absl::Milliseconds(1);
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, timeout == absl::InfiniteDuration() ? 0 : WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return *exit_code_;
    }
    if (r < 0 && errno != EINTR) {
      exit_code_ = -1;
      return -1;
    }
    if (absl::Now() >= deadline) return -1;
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(50));
  }
}

absl::StatusOr<int> RunCommand(const ProcessOptions& options, absl::Duration timeout) {
  auto p = Process::Start(options);
  if (!p.ok()) return p.status();
  int code = p->Wait(timeout);
  if (code == -1 && p->Running()) {
    return absl::DeadlineExceededError(absl::StrCat(options.argv[0], " did not finish"));
  }
  return code;
}

int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = -1;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

absl::StatusOr<std::string> MakeTempDir(const std::string& prefix,
                                        const std::optional<std::string>& owner) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/", prefix, "XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  if (owner && geteuid() == 0) {
    passwd* pw = getpwnam(owner->c_str());
    if (pw == nullptr) return absl::NotFoundError(absl::StrCat("no user ", *owner));
    if (chown(templ.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError(absl::StrCat("chown: ", std::strerror(errno)));
    }
  }
  return templ;
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace opsteam::testing
