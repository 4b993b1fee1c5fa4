#include "libs/pg/migrations.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/log/log.h"
#include "libs/status/status.h"

namespace opsteam::pg {
namespace {

// FNV-1a, enough to notice an edited migration; stored as text.
std::string Checksum(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrCat(absl::Hex(h, absl::kZeroPad16));
}

absl::Status ApplyLocked(Connection& conn, const std::vector<Migration>& migrations) {
  if (auto s = conn.ExecScript(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now())");
      !s.ok()) {
    return s;
  }
  auto applied = conn.Exec("SELECT version, checksum FROM schema_migrations");
  if (!applied.ok()) return applied.status();
  std::vector<std::pair<int64_t, std::string>> done;
  for (int i = 0; i < applied->rows(); ++i) {
    done.emplace_back(applied->GetInt64(i, 0), applied->GetString(i, 1));
  }
  std::vector<const Migration*> ordered;
  for (const auto& m : migrations) ordered.push_back(&m);
  std::sort(ordered.begin(), ordered.end(),
            [](const Migration* a, const Migration* b) { return a->version < b->version; });
  for (const Migration* m : ordered) {
    const std::string sum = Checksum(m->sql);
    auto it = std::find_if(done.begin(), done.end(),
                           [&](const auto& d) { return d.first == m->version; });
    if (it != done.end()) {
      if (it->second != sum) {
        return FailedPrecondition("MIGRATION_CHANGED",
                                  absl::StrCat("migration ", m->name, " changed after it was applied"));
      }
      continue;
    }
    OPS_LOG(INFO) << "applying migration " << m->name;
    if (auto s = conn.ExecScript("BEGIN"); !s.ok()) return s;
    absl::Status s = conn.ExecScript(m->sql);
    if (s.ok()) {
      auto r = conn.Exec("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                         {absl::StrCat(m->version), m->name, sum});
      s = r.status();
    }
    if (!s.ok()) {
      (void)conn.ExecScript("ROLLBACK");
      return s;
    }
    if (auto c = conn.ExecScript("COMMIT"); !c.ok()) return c;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyMigrations(Connection& conn, const std::string& service,
                             const std::vector<Migration>& migrations) {
  const std::string key = absl::StrCat("opsteam.migrations.", service);
  // A migration may rebuild a large table: no statement timeout here.
  if (auto s = conn.ExecScript("SET statement_timeout TO 0"); !s.ok()) return s;
  // Session-level lock: held across the per-migration transactions.
  auto locked = conn.Exec("SELECT pg_advisory_lock(hashtext($1))", {key});
  if (!locked.ok()) return locked.status();
  absl::Status s = ApplyLocked(conn, migrations);
  auto unlocked = conn.Exec("SELECT pg_advisory_unlock(hashtext($1))", {key});
  if (s.ok() && !unlocked.ok()) s = unlocked.status();
  return s;
}

}  // namespace opsteam::pg
