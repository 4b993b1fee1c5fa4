#pragma once

// Schema migrations: numbered SQL files embedded in the service binary (see
// cmake/OpsteamSql.cmake), applied at start under an advisory lock so replicas that start
// together apply each migration exactly once.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/pg/pg.h"

namespace opsteam::pg {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// Applies the migrations not yet recorded in schema_migrations, each in its own
// transaction, in version order. Fails with FAILED_PRECONDITION when an applied migration's
// text has changed since (migrations are append-only).
absl::Status ApplyMigrations(Connection& conn, const std::string& service,
                             const std::vector<Migration>& migrations);

}  // namespace opsteam::pg
