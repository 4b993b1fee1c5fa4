#pragma once

// The org database schema: services/org/migrations/*.sql, embedded at build time.

#include <vector>

#include "libs/pg/migrations.h"

namespace opsteam::org {
const std::vector<pg::Migration>& Migrations();
}  // namespace opsteam::org
