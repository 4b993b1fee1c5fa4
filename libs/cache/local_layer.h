#pragma once

// The in-process layer of the cache: a bounded LRU map with a short TTL, indexed by
// dependency so that dropping what a change invalidates costs only the entries concerned.
//
// A store races with drops: a value read before a drop (from Redis or the source) may only
// be stored if no drop touched its dependencies since the read began. Callers take an Epoch
// before reading and hand it to Put, which refuses the value when a drop came in between.
// Epochs are kept per stripe of dependencies (a hash), so memory stays bounded; a collision
// only costs a refused store, never a stale one.

#include <array>
#include <cstdint>
#include <functional>
#include <iterator>
#include <list>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace opsteam::cache {

class LocalLayer {
 public:
  static constexpr size_t kStripes = 256;

  // What Put compares against: the global epoch and the stripe epoch of each dependency.
  struct Epoch {
    uint64_t global = 0;
    std::vector<uint64_t> stripes;
  };

  // `capacity` 0 or a non-positive `ttl` disables the layer (every Get misses, Put stores
  // nothing). `now` is the clock of the TTL.
  LocalLayer(size_t capacity, absl::Duration ttl, std::function<absl::Time()> now);
  LocalLayer(const LocalLayer&) = delete;
  LocalLayer& operator=(const LocalLayer&) = delete;

  bool enabled() const { return enabled_; }

  Epoch Snapshot(const std::vector<std::string>& deps) const ABSL_LOCKS_EXCLUDED(mu_);
  // The value of `key` while it is younger than the TTL.
  std::optional<std::string> Get(absl::string_view key) ABSL_LOCKS_EXCLUDED(mu_);
  // Stores `value` unless a drop touched `deps` after `epoch` was taken; returns whether it
  // stored. Evicts the least recently used entry beyond capacity.
  bool Put(const std::string& key, const std::vector<std::string>& deps, std::string value,
           const Epoch& epoch) ABSL_LOCKS_EXCLUDED(mu_);
  void Drop(const std::vector<std::string>& deps) ABSL_LOCKS_EXCLUDED(mu_);
  void DropAll() ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    std::string key;
    std::string value;
    std::vector<std::string> deps;
    absl::Time expires;
  };
  using List = std::list<Entry>;

  static size_t Stripe(absl::string_view dep);
  void EraseLocked(List::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const bool enabled_;
  const size_t capacity_;
  const absl::Duration ttl_;
  const std::function<absl::Time()> now_;

  mutable absl::Mutex mu_;
  List lru_ ABSL_GUARDED_BY(mu_);  // most recently used first
  absl::flat_hash_map<std::string, List::iterator> by_key_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> by_dep_ ABSL_GUARDED_BY(mu_);
  uint64_t global_epoch_ ABSL_GUARDED_BY(mu_) = 0;
  std::array<uint64_t, kStripes> stripe_epochs_ ABSL_GUARDED_BY(mu_) = {};
};

}  // namespace opsteam::cache
