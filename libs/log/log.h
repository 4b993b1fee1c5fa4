#pragma once

// A small logging shim: Abseil 20220623 has no absl/log. Lines go to stderr as
// "<UTC time> <level> <file>:<line>] message", one write per line so threads don't interleave.

#include <sstream>
#include <string_view>

namespace opsteam::log {

enum class Level { kInfo, kWarning, kError };

class LogLine {
 public:
  LogLine(Level level, const char* file, int line);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  template <typename T>
  LogLine& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  std::ostringstream stream_;
};

// Lines below this level are dropped (default kInfo; OPSTEAM_LOG_LEVEL=warning|error).
void SetMinLevel(Level level);
bool Enabled(Level level);

}  // namespace opsteam::log

#define OPS_LOG_INFO ::opsteam::log::Level::kInfo
#define OPS_LOG_WARNING ::opsteam::log::Level::kWarning
#define OPS_LOG_ERROR ::opsteam::log::Level::kError
// A for-statement rather than if/else, so `if (x) OPS_LOG(INFO) << ...; else` stays unambiguous.
#define OPS_LOG(severity)                                                              \
  for (bool _ops_log_on = ::opsteam::log::Enabled(OPS_LOG_##severity); _ops_log_on;   \
       _ops_log_on = false)                                                            \
  ::opsteam::log::LogLine(OPS_LOG_##severity, __FILE__, __LINE__)
