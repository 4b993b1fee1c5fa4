#include "libs/log/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace opsteam::log {
namespace {

Level InitialLevel() {
  const char* env = std::getenv("OPSTEAM_LOG_LEVEL");
  if (env == nullptr) return Level::kInfo;
  absl::string_view v(env);
  if (v == "warning") return Level::kWarning;
  if (v == "error") return Level::kError;
  return Level::kInfo;
}

std::atomic<Level>& MinLevel() {
  static std::atomic<Level> level{InitialLevel()};
  return level;
}

const char* Name(Level level) {
  switch (level) {
    case Level::kInfo:
      return "I";
    case Level::kWarning:
      return "W";
    case Level::kError:
      return "E";
  }
  return "?";
}

}  // namespace

void SetMinLevel(Level level) { MinLevel().store(level); }
bool Enabled(Level level) { return level >= MinLevel().load(std::memory_order_relaxed); }

LogLine::LogLine(Level level, const char* file, int line) {
  absl::string_view path(file);
  if (auto slash = path.rfind('/'); slash != absl::string_view::npos) path.remove_prefix(slash + 1);
  stream_ << absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ ", absl::Now(), absl::UTCTimeZone())
          << Name(level) << ' ' << path << ':' << line << "] ";
}

LogLine::~LogLine() {
  stream_ << '\n';
  const std::string text = stream_.str();
  // One write(2) per line keeps concurrent lines whole.
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
}

}  // namespace opsteam::log
