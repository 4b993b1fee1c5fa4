#include "libs/cache/local_layer.h"

#include <utility>

#include "absl/hash/hash.h"
#include "absl/time/clock.h"

namespace opsteam::cache {

LocalLayer::LocalLayer(size_t capacity, absl::Duration ttl, std::function<absl::Time()> now)
    : enabled_(capacity > 0 && ttl > absl::ZeroDuration()),
      capacity_(capacity),
      ttl_(ttl),
      now_(now ? std::move(now) : [] { return absl::Now(); }) {}

size_t LocalLayer::Stripe(absl::string_view dep) { return absl::Hash<absl::string_view>()(dep) % kStripes; }

LocalLayer::Epoch LocalLayer::Snapshot(const std::vector<std::string>& deps) const {
  Epoch e;
  if (!enabled_) return e;
  e.stripes.reserve(deps.size());
  absl::MutexLock lock(&mu_);
  e.global = global_epoch_;
  for (const auto& d : deps) e.stripes.push_back(stripe_epochs_[Stripe(d)]);
  return e;
}

std::optional<std::string> LocalLayer::Get(absl::string_view key) {
  if (!enabled_) return std::nullopt;
  const absl::Time now = now_();
  absl::MutexLock lock(&mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  if (now >= it->second->expires) {
    EraseLocked(it->second);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->value;
}

bool LocalLayer::Put(const std::string& key, const std::vector<std::string>& deps, std::string value,
                     const Epoch& epoch) {
  if (!enabled_) return false;
  const absl::Time expires = now_() + ttl_;
  absl::MutexLock lock(&mu_);
  if (epoch.global != global_epoch_ || epoch.stripes.size() != deps.size()) return false;
  for (size_t i = 0; i < deps.size(); ++i) {
    if (epoch.stripes[i] != stripe_epochs_[Stripe(deps[i])]) return false;
  }
  if (auto it = by_key_.find(key); it != by_key_.end()) EraseLocked(it->second);
  lru_.push_front(Entry{key, std::move(value), deps, expires});
  by_key_[key] = lru_.begin();
  for (const auto& d : deps) by_dep_[d].insert(key);
  while (lru_.size() > capacity_) EraseLocked(std::prev(lru_.end()));
  return true;
}

void LocalLayer::EraseLocked(List::iterator it) {
  for (const auto& d : it->deps) {
    auto dep = by_dep_.find(d);
    if (dep == by_dep_.end()) continue;
    dep->second.erase(it->key);
    if (dep->second.empty()) by_dep_.erase(dep);
  }
  by_key_.erase(it->key);
  lru_.erase(it);
}

void LocalLayer::Drop(const std::vector<std::string>& deps) {
  if (!enabled_) return;
  absl::MutexLock lock(&mu_);
  for (const auto& d : deps) {
    ++stripe_epochs_[Stripe(d)];
    auto dep = by_dep_.find(d);
    if (dep == by_dep_.end()) continue;
    // Erasing an entry edits by_dep_, so take the keys out first.
    const absl::flat_hash_set<std::string> keys = std::move(dep->second);
    by_dep_.erase(dep);
    for (const auto& k : keys) {
      if (auto it = by_key_.find(k); it != by_key_.end()) EraseLocked(it->second);
    }
  }
}

void LocalLayer::DropAll() {
  if (!enabled_) return;
  absl::MutexLock lock(&mu_);
  ++global_epoch_;
  lru_.clear();
  by_key_.clear();
  by_dep_.clear();
}

size_t LocalLayer::size() const {
  absl::MutexLock lock(&mu_);
  return lru_.size();
}

}  // namespace opsteam::cache
