#include "libs/redis/redis_client.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/log/log.h"
#include "libs/status/status.h"

namespace opsteam::redis {
namespace {

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// hiredis 0.14 writes with write(2): a peer that went away raises SIGPIPE, which would kill
// the process. Block it on this thread for the duration of one command and swallow one that
// we caused (the same technique as libpq), without touching the process-wide disposition.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    sigset_t old;
    sigemptyset(&old);
    if (pthread_sigmask(SIG_BLOCK, &pipe_set_, &old) == 0) {
      restore_ = sigismember(&old, SIGPIPE) != 1;
    }
  }
  ~ScopedSigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        sigtimedwait(&pipe_set_, nullptr, &zero);
      }
    }
    if (restore_) pthread_sigmask(SIG_UNBLOCK, &pipe_set_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_set_;
  bool was_pending_ = false;
  bool restore_ = false;
};

Reply Convert(const redisReply& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) out.elements.push_back(Convert(*r.element[i]));
      break;
    default:  // REDIS_REPLY_NIL
      out.type = Reply::Type::kNil;
      break;
  }
  return out;
}

bool HasTimeout(absl::Duration d) {
  return d != absl::InfiniteDuration() && d > absl::ZeroDuration();
}

// A zero timeval means "no timeout" to setsockopt. hiredis rounds down to milliseconds and
// would treat a sub-millisecond connect timeout as already expired, hence the floor.
timeval SocketTimeout(absl::Duration d) {
  if (!HasTimeout(d)) return timeval{0, 0};
  return absl::ToTimeval(std::max(d, absl::Milliseconds(1)));
}

// argv/length arrays of one command for hiredis; they point into `args`.
struct Argv {
  explicit Argv(const std::vector<std::string>& args) {
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
  }
  int count() const { return static_cast<int>(argv.size()); }
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
};

ReplyPtr Run(redisContext* context, const std::vector<std::string>& args) {
  Argv a(args);
  ScopedSigpipeBlock no_sigpipe;
  return ReplyPtr(static_cast<redisReply*>(
      redisCommandArgv(context, a.count(), a.argv.data(), a.lengths.data())));
}

std::string ContextError(const redisContext* context) {
  if (context == nullptr) return "cannot allocate a hiredis context";
  const std::string text = context->errstr;
  switch (context->err) {
    case REDIS_ERR_IO:
      // hiredis 0.14 reports a socket timeout as a plain EAGAIN.
      if (text == std::strerror(EAGAIN)) return "timed out";
      return absl::StrCat("I/O error: ", text);
    case REDIS_ERR_PROTOCOL:
      return absl::StrCat("protocol error: ", text);
    default:
      return text.empty() ? absl::StrCat("hiredis error ", context->err) : text;
  }
}

}  // namespace

Client::Client(Options options)
    : options_([&] {
        options.min_backoff = std::max(options.min_backoff, absl::ZeroDuration());
        options.max_backoff = std::max(options.max_backoff, options.min_backoff);
        if (!options.now) options.now = [] { return absl::Now(); };
        return std::move(options);
      }()),
      next_backoff_(options_.min_backoff) {}

Client::~Client() {
  absl::MutexLock lock(&mu_);
  CloseLocked();
}

bool Client::connected() const {
  absl::MutexLock lock(&mu_);
  return context_ != nullptr;
}

absl::Duration Client::backoff() const {
  absl::MutexLock lock(&mu_);
  return backoff_;
}

void Client::CloseLocked() {
  if (context_ != nullptr) {
    redisFree(context_);
    context_ = nullptr;
  }
}

absl::Status Client::FailLocked(const std::string& what) {
  CloseLocked();
  if (failures_ == 0) {
    OPS_LOG(WARNING) << "redis " << options_.host << ":" << options_.port << ": " << what
                     << "; reconnecting with backoff";
  }
  ++failures_;
  last_error_ = what;
  backoff_ = next_backoff_;
  next_attempt_ = options_.now() + backoff_;
  next_backoff_ = std::min(next_backoff_ * 2, options_.max_backoff);
  return opsteam::Unavailable(
      kUnavailableReason, absl::StrCat("redis ", options_.host, ":", options_.port, ": ", what));
}

absl::Status Client::EnsureConnectedLocked() {
  if (context_ != nullptr) return absl::OkStatus();
  const absl::Time now = options_.now();
  if (now < next_attempt_) {
    return opsteam::Unavailable(
        kUnavailableReason,
        absl::StrCat("redis ", options_.host, ":", options_.port, " unavailable (next attempt in ",
                     absl::FormatDuration(next_attempt_ - now), "; last error: ", last_error_,
                     ")"));
  }
  context_ = HasTimeout(options_.connect_timeout)
                 ? redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                           SocketTimeout(options_.connect_timeout))
                 : redisConnect(options_.host.c_str(), options_.port);
  if (context_ == nullptr || context_->err != 0) {
    return FailLocked(absl::StrCat("connect: ", ContextError(context_)));
  }
  if (redisSetTimeout(context_, SocketTimeout(options_.command_timeout)) != REDIS_OK) {
    return FailLocked(absl::StrCat("set timeout: ", ContextError(context_)));
  }
  // Keepalive lets an idle connection to a vanished host fail instead of hanging on.
  redisEnableKeepAlive(context_);
  if (!options_.password.empty()) {
    ReplyPtr reply = Run(context_, {"AUTH", options_.password});
    if (reply == nullptr) return FailLocked(absl::StrCat("AUTH: ", ContextError(context_)));
    // A rejected password counts as a failed connection: the server is unusable to us, and
    // callers treat UNAVAILABLE as "fall back", which is what they should do here too.
    if (reply->type == REDIS_REPLY_ERROR) {
      return FailLocked(absl::StrCat("AUTH rejected: ", std::string(reply->str, reply->len)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Reply> Client::Command(const std::vector<std::string>& args) {
  if (args.empty()) return opsteam::InvalidArgument("args", "empty Redis command");
  absl::MutexLock lock(&mu_);
  if (absl::Status s = EnsureConnectedLocked(); !s.ok()) return s;
  ReplyPtr reply = Run(context_, args);
  // A null reply means the context is broken (I/O, EOF, timeout, protocol): hiredis
  // contexts cannot be reused after an error.
  if (reply == nullptr) return FailLocked(ContextError(context_));
  SucceededLocked();
  if (reply->type == REDIS_REPLY_ERROR) {
    return opsteam::FailedPrecondition(kErrorReason, std::string(reply->str, reply->len));
  }
  return Convert(*reply);
}

void Client::SucceededLocked() {
  if (failures_ > 0) {
    OPS_LOG(INFO) << "redis " << options_.host << ":" << options_.port << ": reconnected after "
                  << failures_ << " failed attempt(s)";
    failures_ = 0;
  }
  backoff_ = absl::ZeroDuration();
  next_backoff_ = options_.min_backoff;
}

absl::StatusOr<std::vector<absl::StatusOr<Reply>>> Client::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  for (const auto& c : commands) {
    if (c.empty()) return opsteam::InvalidArgument("commands", "empty Redis command");
  }
  std::vector<absl::StatusOr<Reply>> out;
  if (commands.empty()) return out;
  absl::MutexLock lock(&mu_);
  if (absl::Status s = EnsureConnectedLocked(); !s.ok()) return s;
  ScopedSigpipeBlock no_sigpipe;
  for (const auto& c : commands) {
    Argv a(c);
    if (redisAppendCommandArgv(context_, a.count(), a.argv.data(), a.lengths.data()) != REDIS_OK) {
      return FailLocked(absl::StrCat("pipeline: ", ContextError(context_)));
    }
  }
  out.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      return FailLocked(absl::StrCat("pipeline: ", ContextError(context_)));
    }
    ReplyPtr reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR) {
      out.push_back(opsteam::FailedPrecondition(kErrorReason, std::string(reply->str, reply->len)));
    } else {
      out.push_back(Convert(*reply));
    }
  }
  SucceededLocked();
  return out;
}

absl::Status Client::Ping() {
  absl::StatusOr<Reply> reply = Command({"PING"});
  if (!reply.ok()) return reply.status();
  if (reply->type != Reply::Type::kStatus || reply->str != "PONG") {
    const std::string detail = absl::StrCat("unexpected PING reply: ", reply->str);
    OPS_LOG(ERROR) << "redis " << options_.host << ":" << options_.port << ": " << detail;
    return opsteam::Internal(detail);
  }
  return absl::OkStatus();
}

}  // namespace opsteam::redis
