#include "libs/orgclient/org_client.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/aip/aip.h"
#include "libs/orgclient/event_listener.h"
#include "libs/status/macros.h"
#include "libs/status/status.h"

namespace opsteam::orgclient {
namespace {

// Page size of the List calls behind composite reads: the server's maximum.
constexpr int kPageSize = aip::kMaxPageSize;

// Entry keys (after kOrgCachePrefix), one kind per cached read; ids are validated resource
// ids ([a-z][a-z0-9-]*), so ':' cannot occur inside a part.
std::string AuthorityKey(const std::string& member, const std::string& day, v1::AuthorityType type,
                         const std::string& department) {
  return absl::StrCat("authority:", member, ":", day, ":", static_cast<int>(type), ":", department);
}

bool IsCurrencyCode(absl::string_view code) {
  return code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) { return absl::ascii_isupper(c); });
}

absl::Status WithFieldPrefix(const absl::Status& s, absl::string_view prefix) {
  const std::string field = ErrorField(s);
  if (field.empty()) return s;
  return InvalidArgument(absl::StrCat(prefix, field), s.message().substr(field.size() + 2));
}

}  // namespace

cache::Options DefaultCacheOptions() {
  cache::Options o;
  o.prefix = kOrgCachePrefix;
  return o;
}

redis::Options CacheRedisOptions(const std::string& host, int port) {
  redis::Options o;
  o.host = host;
  o.port = port;
  o.connect_timeout = absl::Milliseconds(200);
  o.command_timeout = absl::Milliseconds(200);
  o.min_backoff = absl::Milliseconds(50);
  o.max_backoff = absl::Seconds(1);
  return o;
}

absl::StatusOr<std::unique_ptr<OrgClient>> OrgClient::Create(std::shared_ptr<grpc::Channel> channel,
                                                             Options options) {
  if (channel == nullptr) return InvalidArgument("channel", "is required");
  if (options.deadline <= absl::ZeroDuration()) {
    return InvalidArgument("deadline", absl::StrCat("must be positive, got ", absl::FormatDuration(options.deadline)));
  }
  if (options.max_attempts < 1) {
    return InvalidArgument("max_attempts", absl::StrCat("must be at least 1, got ", options.max_attempts));
  }
  if (options.initial_backoff < absl::ZeroDuration()) {
    return InvalidArgument("initial_backoff", "must not be negative");
  }
  if (options.max_backoff < options.initial_backoff) {
    return InvalidArgument("max_backoff", "must not be below initial_backoff");
  }
  if (options.follow_events && !options.cache.redis) {
    return InvalidArgument("follow_events", "needs cache.redis: the events are read from Redis");
  }
  if (options.event_block < absl::Milliseconds(1)) {
    return InvalidArgument("event_block", "must be at least 1ms");
  }
  auto cache = cache::Cache::Create(options.cache);
  if (!cache.ok()) return WithFieldPrefix(cache.status(), "cache.");
  return std::unique_ptr<OrgClient>(new OrgClient(std::move(channel), std::move(options), std::move(*cache)));
}

OrgClient::OrgClient(std::shared_ptr<grpc::Channel> channel, Options options,
                     std::unique_ptr<cache::Cache> cache)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::OrgService::NewStub(channel_)),
      cache_(std::move(cache)) {
  if (options_.follow_events) {
    listener_ = std::make_unique<EventListener>(
        *options_.cache.redis, kOrgEventsStream, options_.event_block,
        [this](const opsteam::events::v1::Event& e) { Observe(e); }, [this] { cache_->DropAllLocal(); });
  }
}

OrgClient::~OrgClient() = default;

int64_t OrgClient::listener_events() const { return listener_ ? listener_->events() : 0; }
int64_t OrgClient::listener_resyncs() const { return listener_ ? listener_->resyncs() : 0; }

void OrgClient::Observe(const opsteam::events::v1::Event& event) {
  const std::vector<std::string> deps = CacheDependencies(event);
  if (std::find(deps.begin(), deps.end(), kAllDependency) != deps.end()) {
    cache_->DropAllLocal();
  } else if (!deps.empty()) {
    cache_->DropLocal(deps);
  }
}

absl::Time OrgClient::Deadline(absl::Time caller) const {
  return std::min(absl::Now() + options_.deadline, caller);
}

void OrgClient::PrepareContext(grpc::ClientContext* context, absl::Time deadline) const {
  context->set_deadline(absl::ToChronoTime(Deadline(deadline)));
  if (options_.token_provider) {
    const std::string token = options_.token_provider();
    if (!token.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }
}

absl::Status OrgClient::Invoke(const std::function<grpc::Status(grpc::ClientContext*)>& attempt,
                               Retry retry, absl::Time deadline) const {
  deadline = Deadline(deadline);
  absl::Duration backoff = options_.initial_backoff;
  for (int n = 1;; ++n) {
    grpc::ClientContext context;
    PrepareContext(&context, deadline);
    const grpc::Status status = attempt(&context);
    if (status.ok()) return absl::OkStatus();
    if (retry == Retry::kNever || status.error_code() != grpc::StatusCode::UNAVAILABLE ||
        n >= options_.max_attempts) {
      return FromGrpcStatus(status);
    }
    thread_local absl::BitGen gen;
    const absl::Duration pause = backoff / 2 + absl::Uniform(gen, 0.0, 0.5) * backoff;
    if (absl::Now() + pause >= deadline) return FromGrpcStatus(status);
    absl::SleepFor(pause);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::StatusOr<std::string> OrgClient::Day(absl::string_view as_of, absl::string_view field) const {
  if (as_of.empty()) return aip::FormatDate(options_.today ? options_.today() : aip::Today());
  OPS_ASSIGN_OR_RETURN(absl::CivilDay day, aip::ParseDate(as_of, field));
  return aip::FormatDate(day);
}

template <typename Message>
absl::StatusOr<Message> OrgClient::Cached(const std::string& key, const std::vector<std::string>& deps,
                                          const std::function<absl::StatusOr<Message>()>& fetch,
                                          const std::function<bool(const Message&)>& cacheable) {
  cache::Lookup got = cache_->Read(key, deps);
  if (got.value) {
    Message m;
    if (m.ParseFromString(*got.value)) return m;
    // Not ours to read (another layout under the same key): answer from the source.
  }
  OPS_ASSIGN_OR_RETURN(Message fresh, fetch());
  if (!cacheable || cacheable(fresh)) cache_->Fill(got.ticket, fresh.SerializeAsString());
  return fresh;
}

absl::StatusOr<v1::CheckAuthorityResponse> OrgClient::CheckAuthority(const v1::CheckAuthorityRequest& request,
                                                                    absl::Time deadline) {
  deadline = Deadline(deadline);
  v1::CheckAuthorityRequest req = request;
  auto fetch = [&]() -> absl::StatusOr<v1::CheckAuthorityResponse> {
    v1::CheckAuthorityResponse resp;
    OPS_RETURN_IF_ERROR(Call(&v1::OrgService::Stub::CheckAuthority, req, &resp, Retry::kOnUnavailable, deadline));
    return resp;
  };
  // Only well-formed requests are cached; the server explains what is wrong with the others.
  auto day = Day(req.as_of(), "as_of");
  auto member = aip::ParseName(req.member(), "members", "member");
  auto department = aip::ParseName(req.department(), "departments", "department");
  const bool budget = req.authority() == v1::AUTHORITY_TYPE_SPEND_BUDGET;
  if (!day.ok() || !member.ok() || !department.ok() || !v1::AuthorityType_IsValid(req.authority()) ||
      req.authority() == v1::AUTHORITY_TYPE_UNSPECIFIED || budget != req.has_amount() ||
      (budget && !IsCurrencyCode(req.amount().currency_code()))) {
    return fetch();
  }
  req.set_as_of(*day);
  std::string key = AuthorityKey(*member, *day, req.authority(), *department);
  if (budget) absl::StrAppend(&key, ":", req.amount().currency_code(), ":", req.amount().minor_units());
  return Cached<v1::CheckAuthorityResponse>(key, {kAllDependency, MemberDependency(*member), kTreeDependency},
                                            fetch);
}

absl::StatusOr<v1::ListAuthoritiesResponse> OrgClient::ListAuthorities(absl::string_view member,
                                                                      absl::string_view as_of,
                                                                      absl::Time deadline) {
  deadline = Deadline(deadline);
  OPS_ASSIGN_OR_RETURN(std::string member_id, aip::ParseName(member, "members", "member"));
  OPS_ASSIGN_OR_RETURN(std::string day, Day(as_of, "as_of"));
  v1::ListAuthoritiesRequest req;
  req.set_member(std::string(member));
  req.set_as_of(day);
  return Cached<v1::ListAuthoritiesResponse>(
      absl::StrCat("authorities:", member_id, ":", day), {kAllDependency, MemberDependency(member_id)},
      [&]() -> absl::StatusOr<v1::ListAuthoritiesResponse> {
        v1::ListAuthoritiesResponse resp;
        OPS_RETURN_IF_ERROR(Call(&v1::OrgService::Stub::ListAuthorities, req, &resp, Retry::kOnUnavailable, deadline));
        return resp;
      });
}

absl::StatusOr<v1::Department> OrgClient::GetDepartment(absl::string_view name, absl::string_view as_of,
                                                        absl::Time deadline) {
  deadline = Deadline(deadline);
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(name, "departments", "name"));
  OPS_ASSIGN_OR_RETURN(std::string day, Day(as_of, "as_of"));
  v1::GetDepartmentRequest req;
  req.set_name(std::string(name));
  req.set_as_of(day);
  return Cached<v1::Department>(absl::StrCat("department:", id, ":", day), {kAllDependency, kTreeDependency},
                                [&]() -> absl::StatusOr<v1::Department> {
                                  v1::GetDepartmentResponse resp;
                                  OPS_RETURN_IF_ERROR(Call(&v1::OrgService::Stub::GetDepartment, req, &resp,
                                                           Retry::kOnUnavailable, deadline));
                                  return std::move(*resp.mutable_department());
                                });
}

absl::StatusOr<std::vector<v1::Department>> OrgClient::ListSubtree(absl::string_view department,
                                                                  absl::string_view as_of,
                                                                  absl::Time deadline) {
  deadline = Deadline(deadline);
  OPS_ASSIGN_OR_RETURN(std::string id, aip::ParseName(department, "departments", "department"));
  OPS_ASSIGN_OR_RETURN(std::string day, Day(as_of, "as_of"));
  // Cached as one ListDepartmentsResponse holding every page.
  OPS_ASSIGN_OR_RETURN(
      v1::ListDepartmentsResponse all,
      Cached<v1::ListDepartmentsResponse>(
          absl::StrCat("subtree:", id, ":", day), {kAllDependency, kTreeDependency},
          [&]() -> absl::StatusOr<v1::ListDepartmentsResponse> {
            v1::ListDepartmentsRequest req;
            req.set_parent(std::string(department));
            req.set_recursive(true);
            req.set_as_of(day);
            req.set_page_size(kPageSize);
            v1::ListDepartmentsResponse out;
            do {
              v1::ListDepartmentsResponse page;
              OPS_RETURN_IF_ERROR(Call(&v1::OrgService::Stub::ListDepartments, req, &page,
                                       Retry::kOnUnavailable, deadline));
              for (auto& d : *page.mutable_departments()) *out.add_departments() = std::move(d);
              req.set_page_token(page.next_page_token());
            } while (!req.page_token().empty());
            return out;
          },
          [this](const v1::ListDepartmentsResponse& r) {
            return static_cast<size_t>(r.departments_size()) <= options_.max_cached_subtree;
          }));
  return std::vector<v1::Department>(std::make_move_iterator(all.mutable_departments()->begin()),
                                     std::make_move_iterator(all.mutable_departments()->end()));
}

absl::StatusOr<MemberPosts> OrgClient::GetMemberPosts(absl::string_view member, absl::string_view as_of,
                                                      absl::Time deadline) {
  deadline = Deadline(deadline);
  OPS_ASSIGN_OR_RETURN(std::string member_id, aip::ParseName(member, "members", "member"));
  OPS_ASSIGN_OR_RETURN(std::string day, Day(as_of, "as_of"));
  const std::string name(member);
  return Cached<MemberPosts>(absl::StrCat("posts:", member_id, ":", day),
                             {kAllDependency, MemberDependency(member_id), kTreeDependency},
                             [&] { return FetchMemberPosts(name, day, deadline); });
}

absl::StatusOr<MemberPosts> OrgClient::FetchMemberPosts(const std::string& member, const std::string& day,
                                                        absl::Time deadline) {
  MemberPosts out;
  out.set_as_of(day);
  {
    v1::GetMemberRequest req;
    req.set_name(member);
    v1::GetMemberResponse resp;
    OPS_RETURN_IF_ERROR(Call(&v1::OrgService::Stub::GetMember, req, &resp, Retry::kOnUnavailable, deadline));
    *out.mutable_member() = std::move(*resp.mutable_member());
  }
  v1::ListAssignmentsRequest list;
  list.set_member(member);
  list.set_as_of(day);
  list.set_page_size(kPageSize);
  do {
    v1::ListAssignmentsResponse page;
    OPS_RETURN_IF_ERROR(Call(&v1::OrgService::Stub::ListAssignments, list, &page, Retry::kOnUnavailable, deadline));
    for (auto& a : *page.mutable_assignments()) *out.add_posts()->mutable_assignment() = std::move(a);
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());

  // Departments through the cache: members of one department share them.
  absl::flat_hash_map<std::string, v1::Department> departments;
  for (Post& post : *out.mutable_posts()) {
    v1::GetPositionRequest req;
    req.set_name(post.assignment().position());
    req.set_as_of(day);
    v1::GetPositionResponse resp;
    OPS_RETURN_IF_ERROR(Call(&v1::OrgService::Stub::GetPosition, req, &resp, Retry::kOnUnavailable, deadline));
    *post.mutable_position() = std::move(*resp.mutable_position());
    post.mutable_position()->clear_filled();
    const std::string& dept = post.position().department();
    auto it = departments.find(dept);
    if (it == departments.end()) {
      OPS_ASSIGN_OR_RETURN(v1::Department d, GetDepartment(dept, day, deadline));
      it = departments.emplace(dept, std::move(d)).first;
    }
    *post.mutable_department() = it->second;
  }
  return out;
}

}  // namespace opsteam::orgclient
