#pragma once

// Flag defaults from the environment: ABSL_FLAG(std::string, pg, EnvOr("OPSTEAM_ORG_PG", ""), ...)
// so a flag given on the command line wins, then the variable, then the built-in default.

#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"

namespace opsteam::rpc {

inline std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

inline int EnvOr(const char* name, int fallback) {
  const char* v = std::getenv(name);
  int out = 0;
  return v && absl::SimpleAtoi(v, &out) ? out : fallback;
}

// Bool flags: "1", "true", "yes" (any case) are true; "0", "false", "no" false.
// Not an EnvOr overload: a string literal fallback would convert to bool and pick it.
inline bool EnvBool(const char* name, bool fallback) {
  const char* v = std::getenv(name);
  bool out = false;
  return v && absl::SimpleAtob(v, &out) ? out : fallback;
}

}  // namespace opsteam::rpc
