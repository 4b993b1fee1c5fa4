#pragma once

// Early-return helpers for absl::Status and absl::StatusOr.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define OPS_RETURN_IF_ERROR(expr)                        \
  do {                                                   \
    if (absl::Status _ops_s = (expr); !_ops_s.ok()) {    \
      return _ops_s;                                     \
    }                                                    \
  } while (0)

#define OPS_ASSIGN_OR_RETURN(lhs, expr) OPS_ASSIGN_OR_RETURN_I_(lhs, expr, __LINE__)
#define OPS_ASSIGN_OR_RETURN_I_(lhs, expr, line) OPS_ASSIGN_OR_RETURN_II_(lhs, expr, line)
#define OPS_ASSIGN_OR_RETURN_II_(lhs, expr, line) \
  auto _ops_r##line = (expr);                     \
  if (!_ops_r##line.ok()) {                       \
    return _ops_r##line.status();                 \
  }                                               \
  lhs = std::move(*_ops_r##line)
