// OrgClient against a real org service (tests/services/org fixture) and the test program's
// private Redis: cached answers equal the server's, changes show after their event exactly as
// the relay will publish it (and not before: the cache is really used), the listener, Redis
// outages, errors, retries across a server restart.

#include "libs/orgclient/org_client.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/create_channel.h"
#include "libs/redis/redis_client.h"
#include "libs/testing/fake_clock.h"
#include "libs/testing/test_env.h"
#include "opsteam/org/v1/events.pb.h"
#include "tests/services/org/org_fixture.h"

namespace opsteam::orgclient {
namespace {

namespace v1 = ::opsteam::org::v1;
using ::opsteam::events::v1::Event;
using ::opsteam::org::testing::IsOk;
using ::opsteam::testing::TestEnv;
using Stub = v1::OrgService::Stub;

constexpr char kDay[] = "2026-04-01";

MATCHER_P(EqualsProto, expected, "") {
  if (google::protobuf::util::MessageDifferencer::Equals(arg, expected)) return true;
  *result_listener << "\n got: " << arg.ShortDebugString() << "\nwant: " << expected.ShortDebugString();
  return false;
}

using ::opsteam::testing::FakeClock;

// Waits for `done` (something another thread does), polling; false after 20 s.
bool Eventually(const std::function<bool()>& done) {
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (!done()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

void Grant(v1::Position& p, v1::AuthorityType type, v1::AuthorityScope scope, int64_t cny_fen = 0) {
  auto* a = p.add_authorities();
  a->set_type(type);
  a->set_scope(scope);
  if (cny_fen > 0) {
    a->mutable_budget_limit()->set_currency_code("CNY");
    a->mutable_budget_limit()->set_minor_units(cny_fen);
  }
}

class OrgClientTest : public org::testing::OrgTest {
 protected:
  void SetUp() override {
    OrgTest::SetUp();
    ASSERT_TRUE(redis_.Command({"FLUSHALL"}).ok());
    MakeDepartment("kuaishou", "", "快手项目组", v1::DEPARTMENT_KIND_PROJECT_GROUP);
    MakeDepartment("monetisation", "kuaishou", "商业变现部", v1::DEPARTMENT_KIND_BUSINESS);
    MakeDepartment("sales", "monetisation", "销售部");
    MakeDepartment("sales-1", "sales", "销售一部");
    MakeDepartment("operations", "kuaishou", "运营部", v1::DEPARTMENT_KIND_SUPPORT);

    v1::Position director = NewPosition("monetisation", "商业变现部总监", v1::GRADE_DIRECTOR);
    Grant(director, v1::AUTHORITY_TYPE_ASSESS, v1::AUTHORITY_SCOPE_SUBTREE);
    Grant(director, v1::AUTHORITY_TYPE_SPEND_BUDGET, v1::AUTHORITY_SCOPE_SUBTREE, 5'000'000);
    Create("mon-director", director);
    v1::Position s1 = NewPosition("sales-1", "销售总监", v1::GRADE_DIRECTOR);
    Grant(s1, v1::AUTHORITY_TYPE_ASSIGN_WORK, v1::AUTHORITY_SCOPE_OWN_DEPARTMENT);
    Grant(s1, v1::AUTHORITY_TYPE_SPEND_BUDGET, v1::AUTHORITY_SCOPE_OWN_DEPARTMENT, 2'000'000);
    Create("s1-director", s1);
    v1::Position events = NewPosition("operations", "活动运营经理", v1::GRADE_MANAGER);
    Grant(events, v1::AUTHORITY_TYPE_COORDINATE_EVENTS, v1::AUTHORITY_SCOPE_OWN_DEPARTMENT);
    Create("events-manager", events);
    v1::Position ops = NewPosition("operations", "运营总监", v1::GRADE_DIRECTOR);
    Grant(ops, v1::AUTHORITY_TYPE_SUPERVISE, v1::AUTHORITY_SCOPE_SUBTREE);
    Create("ops-director", ops);

    MakeMember("m-li", "李明");
    MakeMember("m-zhang", "张伟");
    EXPECT_THAT(Assign("m-li", "mon-director"), IsOk());
    EXPECT_THAT(Assign("m-zhang", "s1-director"), IsOk());
    EXPECT_THAT(Assign("m-zhang", "events-manager", v1::ASSIGNMENT_KIND_SECONDARY, "2026-03-01"), IsOk());
  }

  static v1::Position NewPosition(const std::string& dept, const std::string& title, v1::Grade grade) {
    v1::Position p;
    p.set_department("departments/" + dept);
    p.set_title(title);
    p.set_grade(grade);
    p.set_headcount(1);
    return p;
  }

  void Create(const std::string& id, const v1::Position& p) {
    v1::CreatePositionRequest req;
    req.set_position_id(id);
    req.set_effective_date("2026-01-01");
    *req.mutable_position() = p;
    v1::CreatePositionResponse resp;
    ASSERT_THAT(Call(&Stub::CreatePosition, req, &resp), IsOk());
  }

  enum Layers { kBoth, kRedisOnly, kLocalOnly, kNone };
  struct ClientConfig {
    Layers layers = kBoth;
    // The Redis clients' backoff runs on redis_clock_ (stepped by the test) unless false.
    bool fake_redis_clock = true;
    bool follow_events = false;
  };

  Options ClientOptions(const ClientConfig& config) {
    Options o;
    o.token_provider = [this] { return admin_token(); };
    o.cache.redis_connections = 2;
    if (config.layers == kBoth || config.layers == kRedisOnly) {
      o.cache.redis = CacheRedisOptions("127.0.0.1", TestEnv::Get().redis().port());
      if (config.fake_redis_clock) o.cache.redis->now = [this] { return redis_clock_.Now(); };
    }
    if (config.layers == kRedisOnly || config.layers == kNone) o.cache.local_capacity = 0;
    // The local TTL never runs out unless the test moves this clock.
    o.cache.now = [this] { return local_clock_.Now(); };
    o.follow_events = config.follow_events;
    o.event_block = absl::Milliseconds(100);
    return o;
  }

  std::unique_ptr<OrgClient> NewClient() { return NewClient(ClientConfig()); }
  std::unique_ptr<OrgClient> NewClient(const ClientConfig& config) { return NewClient(ClientOptions(config)); }
  std::unique_ptr<OrgClient> NewClient(Options options) {
    auto c = OrgClient::Create(channel_, std::move(options));
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  // ---- The server's own answers, over the plain stub.

  template <typename Req, typename Resp>
  Resp Direct(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), const Req& req) {
    Resp resp;
    EXPECT_THAT(Call(method, req, &resp), IsOk());
    return resp;
  }

  static v1::CheckAuthorityRequest CheckRequest(const std::string& member, v1::AuthorityType type,
                                                const std::string& dept, const std::string& as_of = kDay) {
    v1::CheckAuthorityRequest req;
    req.set_member("members/" + member);
    req.set_authority(type);
    req.set_department("departments/" + dept);
    req.set_as_of(as_of);
    return req;
  }

  v1::ListAuthoritiesResponse DirectAuthorities(const std::string& member, const std::string& as_of = kDay) {
    v1::ListAuthoritiesRequest req;
    req.set_member("members/" + member);
    req.set_as_of(as_of);
    return Direct(&Stub::ListAuthorities, req);
  }

  v1::Department DirectDepartment(const std::string& id, const std::string& as_of = kDay) {
    v1::GetDepartmentRequest req;
    req.set_name("departments/" + id);
    req.set_as_of(as_of);
    return Direct(&Stub::GetDepartment, req).department();
  }

  std::vector<std::string> DirectSubtree(const std::string& id) {
    v1::ListDepartmentsRequest req;
    req.set_parent("departments/" + id);
    req.set_recursive(true);
    req.set_as_of(kDay);
    req.set_page_size(1000);
    std::vector<std::string> out;
    const v1::ListDepartmentsResponse resp = Direct(&Stub::ListDepartments, req);
    for (const auto& d : resp.departments()) out.push_back(d.name());
    return out;
  }

  MemberPosts DirectPosts(const std::string& member) {
    MemberPosts out;
    out.set_as_of(kDay);
    v1::GetMemberRequest get;
    get.set_name("members/" + member);
    *out.mutable_member() = Direct(&Stub::GetMember, get).member();
    v1::ListAssignmentsRequest list;
    list.set_member("members/" + member);
    list.set_as_of(kDay);
    const v1::ListAssignmentsResponse assignments = Direct(&Stub::ListAssignments, list);
    for (const auto& a : assignments.assignments()) {
      Post* post = out.add_posts();
      *post->mutable_assignment() = a;
      v1::GetPositionRequest pos;
      pos.set_name(a.position());
      pos.set_as_of(kDay);
      *post->mutable_position() = Direct(&Stub::GetPosition, pos).position();
      post->mutable_position()->clear_filled();
      *post->mutable_department() = DirectDepartment(post->position().department().substr(12));
    }
    return out;
  }

  static std::vector<std::string> Names(const absl::StatusOr<std::vector<v1::Department>>& ds) {
    std::vector<std::string> out;
    if (ds.ok()) {
      for (const auto& d : *ds) out.push_back(d.name());
    }
    return out;
  }

  static std::vector<std::string> AncestorsOf(const MemberPosts& posts, const std::string& position) {
    for (const auto& p : posts.posts()) {
      if (p.position().name() == position) return {p.department().ancestors().begin(), p.department().ancestors().end()};
    }
    return {};
  }

  static std::vector<std::string> PostTitles(const absl::StatusOr<MemberPosts>& posts) {
    std::vector<std::string> out;
    if (posts.ok()) {
      for (const auto& p : posts->posts()) out.push_back(absl::StrCat(p.position().title(), "@", p.department().display_name()));
    }
    return out;
  }

  // ---- Events as the relay publishes them.

  Event RelayEvent(const std::string& type, const google::protobuf::Message& payload,
                   const std::string& subject, const std::string& method,
                   const std::string& effective_date) {
    Event e;
    ++sequence_;
    e.set_id(absl::StrCat("org-", sequence_));
    e.set_type(type);
    e.set_source("org");
    e.set_subject(subject);
    e.mutable_time()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    e.set_sequence(sequence_);
    e.mutable_data()->PackFrom(payload);
    e.set_actor("members/m-admin");
    e.set_effective_date(effective_date);
    e.set_method(method);
    return e;
  }

  // The relay's MULTI/EXEC: the invalidation, then the XADD.
  void Publish(const Event& event) {
    std::vector<std::vector<std::string>> tx = {{"MULTI"}};
    for (auto& c : cache::InvalidationCommands(kOrgCachePrefix, CacheDependencies(event))) tx.push_back(std::move(c));
    tx.push_back({"XADD", kOrgEventsStream, absl::StrCat(event.sequence(), "-0"), "event", event.SerializeAsString()});
    tx.push_back({"EXEC"});
    auto replies = redis_.Pipeline(tx);
    ASSERT_TRUE(replies.ok()) << replies.status();
    ASSERT_TRUE(replies->back().ok()) << replies->back().status();
    ASSERT_EQ(replies->back()->type, redis::Reply::Type::kArray);
  }

  // What a consumer in the client's process does with an event it receives.
  void Deliver(const Event& event, OrgClient& client) {
    Publish(event);
    client.Observe(event);
  }

  v1::Assignment AssignAndGet(const std::string& member, const std::string& position,
                              v1::AssignmentKind kind, const std::string& start) {
    v1::Assignment a;
    EXPECT_THAT(Assign(member, position, kind, start, "", &a), IsOk());
    return a;
  }

  Event AssignmentStartedEvent(const v1::Assignment& a) {
    v1::AssignmentStarted payload;
    *payload.mutable_assignment() = a;
    return RelayEvent("opsteam.org.assignment.started", payload, a.name(), "AssignMember", a.start_date());
  }

  // Leaves only SPEND_BUDGET on positions/s1-director from 2026-03-15; returns its event.
  Event DropAssignWorkFromS1Director() {
    v1::GetPositionRequest get;
    get.set_name("positions/s1-director");
    get.set_as_of("2026-03-14");
    const v1::Position before = Direct(&Stub::GetPosition, get).position();
    v1::UpdatePositionRequest req;
    req.mutable_position()->set_name("positions/s1-director");
    Grant(*req.mutable_position(), v1::AUTHORITY_TYPE_SPEND_BUDGET, v1::AUTHORITY_SCOPE_OWN_DEPARTMENT, 2'000'000);
    req.mutable_update_mask()->add_paths("authorities");
    req.set_effective_date("2026-03-15");
    const v1::Position after = Direct(&Stub::UpdatePosition, req).position();
    v1::PositionChanged payload;
    *payload.mutable_before() = before;
    *payload.mutable_after() = after;
    payload.add_changed_fields("authorities");
    payload.add_holders("members/m-zhang");
    return RelayEvent("opsteam.org.position.changed", payload, "positions/s1-director", "UpdatePosition",
                      "2026-03-15");
  }

  // Moves departments/sales under departments/operations from 2026-03-15; returns its event.
  Event MoveSalesUnderOperations() {
    const v1::Department before = DirectDepartment("sales", "2026-03-14");
    v1::MoveDepartmentRequest req;
    req.set_name("departments/sales");
    req.set_new_parent("departments/operations");
    req.set_effective_date("2026-03-15");
    const v1::Department after = Direct(&Stub::MoveDepartment, req).department();
    v1::DepartmentMoved payload;
    *payload.mutable_before() = before;
    *payload.mutable_after() = after;
    payload.set_old_parent("departments/monetisation");
    payload.set_new_parent("departments/operations");
    payload.add_changed_fields("parent");
    return RelayEvent("opsteam.org.department.moved", payload, "departments/sales", "MoveDepartment",
                      "2026-03-15");
  }

  redis::Client redis_{CacheRedisOptions("127.0.0.1", TestEnv::Get().redis().port())};
  FakeClock redis_clock_;
  FakeClock local_clock_;
  int64_t sequence_ = 0;
};

TEST_F(OrgClientTest, CachedReadsEqualTheServersAnswers) {
  auto client = NewClient();
  const auto check = CheckRequest("m-li", v1::AUTHORITY_TYPE_ASSESS, "sales-1");
  v1::CheckAuthorityRequest budget = CheckRequest("m-zhang", v1::AUTHORITY_TYPE_SPEND_BUDGET, "sales-1");
  budget.mutable_amount()->set_currency_code("CNY");
  budget.mutable_amount()->set_minor_units(3'000'000);
  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "filling" : "cached");
    auto got = client->CheckAuthority(check);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_THAT(*got, EqualsProto(Direct(&Stub::CheckAuthority, check)));
    EXPECT_TRUE(got->allowed());
    auto over = client->CheckAuthority(budget);
    ASSERT_TRUE(over.ok()) << over.status();
    EXPECT_THAT(*over, EqualsProto(Direct(&Stub::CheckAuthority, budget)));
    EXPECT_FALSE(over->allowed());

    auto authorities = client->ListAuthorities("members/m-zhang", kDay);
    ASSERT_TRUE(authorities.ok()) << authorities.status();
    EXPECT_THAT(*authorities, EqualsProto(DirectAuthorities("m-zhang")));
    EXPECT_EQ(authorities->authorities_size(), 3);

    auto posts = client->GetMemberPosts("members/m-zhang", kDay);
    ASSERT_TRUE(posts.ok()) << posts.status();
    EXPECT_THAT(*posts, EqualsProto(DirectPosts("m-zhang")));
    EXPECT_THAT(PostTitles(posts), ::testing::UnorderedElementsAre("销售总监@销售一部", "活动运营经理@运营部"));
    EXPECT_THAT(AncestorsOf(*posts, "positions/s1-director"),
                ::testing::ElementsAre("departments/kuaishou", "departments/monetisation", "departments/sales"));

    auto dept = client->GetDepartment("departments/sales-1", kDay);
    ASSERT_TRUE(dept.ok()) << dept.status();
    EXPECT_THAT(*dept, EqualsProto(DirectDepartment("sales-1")));

    auto subtree = client->ListSubtree("departments/monetisation", kDay);
    ASSERT_TRUE(subtree.ok()) << subtree.status();
    EXPECT_EQ(Names(subtree), DirectSubtree("monetisation"));
    EXPECT_THAT(Names(subtree), ::testing::UnorderedElementsAre("departments/sales", "departments/sales-1"));
  }
  const cache::Stats s = client->cache_stats();
  EXPECT_EQ(s.local_hits, 7);  // the second pass; posts read sales-1 and operations through the cache
  EXPECT_EQ(s.fills, 7);
  // Another process shares the Redis entries.
  auto other = NewClient();
  EXPECT_TRUE(other->CheckAuthority(check).ok());
  EXPECT_EQ(other->cache_stats().redis_hits, 1);
  EXPECT_EQ(other->cache_stats().fills, 0);
}

TEST_F(OrgClientTest, ReadsWithoutADayAreKeyedByToday) {
  Options o = ClientOptions({});
  absl::CivilDay today(2026, 2, 28);
  o.today = [&] { return today; };
  auto client = NewClient(o);
  // m-zhang's secondary post starts on 2026-03-01.
  auto before = client->ListAuthorities("members/m-zhang");
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_THAT(*before, EqualsProto(DirectAuthorities("m-zhang", "2026-02-28")));
  today = absl::CivilDay(2026, 3, 1);  // midnight passes
  auto after = client->ListAuthorities("members/m-zhang");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(*after, EqualsProto(DirectAuthorities("m-zhang", "2026-03-01")));
  EXPECT_EQ(after->authorities_size(), before->authorities_size() + 1);
  // The explicit day shares the entry of "today".
  const int64_t hits = client->cache_stats().local_hits;
  EXPECT_TRUE(client->ListAuthorities("members/m-zhang", "2026-03-01").ok());
  EXPECT_EQ(client->cache_stats().local_hits, hits + 1);

  auto check = client->CheckAuthority(CheckRequest("m-zhang", v1::AUTHORITY_TYPE_COORDINATE_EVENTS, "operations", ""));
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_TRUE(check->allowed());
}

TEST_F(OrgClientTest, AnAssignmentShowsAfterItsEventAndNotBefore) {
  auto client = NewClient();
  const auto supervise = CheckRequest("m-li", v1::AUTHORITY_TYPE_SUPERVISE, "operations");
  ASSERT_FALSE(client->CheckAuthority(supervise)->allowed());
  ASSERT_EQ(client->ListAuthorities("members/m-li", kDay)->authorities_size(), 2);
  ASSERT_THAT(PostTitles(client->GetMemberPosts("members/m-li", kDay)), ::testing::ElementsAre("商业变现部总监@商业变现部"));
  ASSERT_EQ(client->ListAuthorities("members/m-zhang", kDay)->authorities_size(), 3);

  const v1::Assignment a = AssignAndGet("m-li", "ops-director", v1::ASSIGNMENT_KIND_SECONDARY, "2026-02-01");
  // The cache answers until the change's event: it is really used.
  EXPECT_FALSE(client->CheckAuthority(supervise)->allowed());
  EXPECT_EQ(client->ListAuthorities("members/m-li", kDay)->authorities_size(), 2);
  EXPECT_EQ(PostTitles(client->GetMemberPosts("members/m-li", kDay)).size(), 1u);

  Deliver(AssignmentStartedEvent(a), *client);
  auto check = client->CheckAuthority(supervise);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_THAT(*check, EqualsProto(Direct(&Stub::CheckAuthority, supervise)));
  EXPECT_TRUE(check->allowed());
  EXPECT_THAT(*client->ListAuthorities("members/m-li", kDay), EqualsProto(DirectAuthorities("m-li")));
  EXPECT_THAT(*client->GetMemberPosts("members/m-li", kDay), EqualsProto(DirectPosts("m-li")));
  EXPECT_THAT(PostTitles(client->GetMemberPosts("members/m-li", kDay)),
              ::testing::UnorderedElementsAre("商业变现部总监@商业变现部", "运营总监@运营部"));
  // Nobody else's entries were invalidated.
  const cache::Stats s = client->cache_stats();
  EXPECT_TRUE(client->ListAuthorities("members/m-zhang", kDay).ok());
  EXPECT_TRUE(client->GetDepartment("departments/monetisation", kDay).ok());
  EXPECT_EQ(client->cache_stats().fills, s.fills);
  EXPECT_EQ(client->cache_stats().local_hits, s.local_hits + 2);
}

TEST_F(OrgClientTest, APositionsAuthoritiesShowAfterItsEventAndNotBefore) {
  auto client = NewClient();
  const auto assign = CheckRequest("m-zhang", v1::AUTHORITY_TYPE_ASSIGN_WORK, "sales-1");
  ASSERT_TRUE(client->CheckAuthority(assign)->allowed());
  ASSERT_EQ(client->ListAuthorities("members/m-zhang", kDay)->authorities_size(), 3);

  const Event changed = DropAssignWorkFromS1Director();
  EXPECT_TRUE(client->CheckAuthority(assign)->allowed());
  EXPECT_EQ(client->ListAuthorities("members/m-zhang", kDay)->authorities_size(), 3);

  Deliver(changed, *client);
  auto check = client->CheckAuthority(assign);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_FALSE(check->allowed());
  EXPECT_THAT(*check, EqualsProto(Direct(&Stub::CheckAuthority, assign)));
  EXPECT_THAT(*client->ListAuthorities("members/m-zhang", kDay), EqualsProto(DirectAuthorities("m-zhang")));
  EXPECT_EQ(client->ListAuthorities("members/m-zhang", kDay)->authorities_size(), 2);
  // Before the change's effective date the old grant stands.
  EXPECT_TRUE(client->CheckAuthority(CheckRequest("m-zhang", v1::AUTHORITY_TYPE_ASSIGN_WORK, "sales-1", "2026-03-14"))
                  ->allowed());
}

TEST_F(OrgClientTest, ADepartmentMoveShowsAfterItsEventAndNotBefore) {
  auto client = NewClient();
  const auto assess = CheckRequest("m-li", v1::AUTHORITY_TYPE_ASSESS, "sales-1");
  ASSERT_TRUE(client->CheckAuthority(assess)->allowed());
  const std::vector<std::string> old_ancestors = {"departments/kuaishou", "departments/monetisation", "departments/sales"};
  ASSERT_THAT(client->GetDepartment("departments/sales-1", kDay)->ancestors(), ::testing::ElementsAreArray(old_ancestors));
  ASSERT_EQ(Names(client->ListSubtree("departments/operations", kDay)).size(), 0u);
  ASSERT_EQ(AncestorsOf(*client->GetMemberPosts("members/m-zhang", kDay), "positions/s1-director").size(), 3u);

  const Event moved = MoveSalesUnderOperations();
  EXPECT_TRUE(client->CheckAuthority(assess)->allowed());
  EXPECT_THAT(client->GetDepartment("departments/sales-1", kDay)->ancestors(), ::testing::ElementsAreArray(old_ancestors));
  EXPECT_EQ(Names(client->ListSubtree("departments/operations", kDay)).size(), 0u);

  Deliver(moved, *client);
  auto check = client->CheckAuthority(assess);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_FALSE(check->allowed());
  EXPECT_THAT(*check, EqualsProto(Direct(&Stub::CheckAuthority, assess)));
  auto dept = client->GetDepartment("departments/sales-1", kDay);
  ASSERT_TRUE(dept.ok()) << dept.status();
  EXPECT_THAT(*dept, EqualsProto(DirectDepartment("sales-1")));
  EXPECT_THAT(dept->ancestors(),
              ::testing::ElementsAre("departments/kuaishou", "departments/operations", "departments/sales"));
  EXPECT_EQ(Names(client->ListSubtree("departments/operations", kDay)), DirectSubtree("operations"));
  EXPECT_THAT(Names(client->ListSubtree("departments/operations", kDay)),
              ::testing::UnorderedElementsAre("departments/sales", "departments/sales-1"));
  EXPECT_THAT(*client->GetMemberPosts("members/m-zhang", kDay), EqualsProto(DirectPosts("m-zhang")));
  EXPECT_THAT(AncestorsOf(*client->GetMemberPosts("members/m-zhang", kDay), "positions/s1-director"),
              ::testing::ElementsAre("departments/kuaishou", "departments/operations", "departments/sales"));
}

// The relay's invalidation reaches every process through Redis at once; a process's local
// layer follows when it is told (Observe) or when its local TTL ends.
TEST_F(OrgClientTest, TheLocalLayerFollowsObserveOrItsTtl) {
  auto local = NewClient({.layers = kBoth});
  auto shared_only = NewClient({.layers = kRedisOnly});
  const auto assign = CheckRequest("m-zhang", v1::AUTHORITY_TYPE_ASSIGN_WORK, "sales-1");
  ASSERT_TRUE(local->CheckAuthority(assign)->allowed());
  ASSERT_TRUE(shared_only->CheckAuthority(assign)->allowed());

  const Event changed = DropAssignWorkFromS1Director();
  Publish(changed);  // nobody calls Observe yet
  EXPECT_FALSE(shared_only->CheckAuthority(assign)->allowed());
  EXPECT_TRUE(local->CheckAuthority(assign)->allowed());
  local->Observe(changed);
  EXPECT_FALSE(local->CheckAuthority(assign)->allowed());

  // Without any event, the local TTL bounds how long an entry is served.
  auto local_only = NewClient({.layers = kLocalOnly});
  const auto budget = CheckRequest("m-zhang", v1::AUTHORITY_TYPE_SPEND_BUDGET, "sales-1");
  v1::CheckAuthorityRequest spend = budget;
  spend.mutable_amount()->set_currency_code("CNY");
  spend.mutable_amount()->set_minor_units(100);
  ASSERT_TRUE(local_only->CheckAuthority(spend)->allowed());
  v1::UpdatePositionRequest req;
  req.mutable_position()->set_name("positions/s1-director");
  req.mutable_update_mask()->add_paths("authorities");
  req.set_effective_date("2026-03-20");
  Direct(&Stub::UpdatePosition, req);
  local_clock_.Advance(absl::Milliseconds(1999));
  EXPECT_TRUE(local_only->CheckAuthority(spend)->allowed());
  local_clock_.Advance(absl::Milliseconds(1));
  EXPECT_FALSE(local_only->CheckAuthority(spend)->allowed());
}

TEST_F(OrgClientTest, TheListenerObservesEveryEventOnTheStream) {
  auto follower = NewClient({.fake_redis_clock = false, .follow_events = true});
  ASSERT_TRUE(Eventually([&] { return follower->listener_resyncs() >= 1; }));  // anchored at the tail
  const auto assign = CheckRequest("m-zhang", v1::AUTHORITY_TYPE_ASSIGN_WORK, "sales-1");
  ASSERT_TRUE(follower->CheckAuthority(assign)->allowed());

  const Event changed = DropAssignWorkFromS1Director();
  EXPECT_TRUE(follower->CheckAuthority(assign)->allowed());
  Publish(changed);  // only the stream tells the follower
  ASSERT_TRUE(Eventually([&] { return follower->listener_events() >= 1; }));
  EXPECT_FALSE(follower->CheckAuthority(assign)->allowed());
  EXPECT_EQ(follower->listener_resyncs(), 1);
  // The listener stops promptly when the client goes.
  follower.reset();
}

TEST_F(OrgClientTest, TheListenerDropsTheLocalLayerWhenItMayHaveMissedEvents) {
  auto follower = NewClient({.fake_redis_clock = false, .follow_events = true});
  ASSERT_TRUE(Eventually([&] { return follower->listener_resyncs() >= 1; }));
  const auto assign = CheckRequest("m-zhang", v1::AUTHORITY_TYPE_ASSIGN_WORK, "sales-1");
  ASSERT_TRUE(follower->CheckAuthority(assign)->allowed());
  DropAssignWorkFromS1Director();  // its event never reaches the follower
  EXPECT_TRUE(follower->CheckAuthority(assign)->allowed());

  TestEnv::Get().redis().Kill();
  ASSERT_TRUE(Eventually([&] { return follower->listener_resyncs() >= 2; }));
  auto down = follower->CheckAuthority(assign);
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_FALSE(down->allowed());  // from the org service
  ASSERT_TRUE(TestEnv::Get().redis().Restart().ok());
  ASSERT_TRUE(Eventually([&] { return follower->listener_resyncs() >= 3; }));  // reconnected
  ASSERT_TRUE(Eventually([&] { return redis_.Ping().ok(); }));  // the test's own connection too

  // A sequence gap also means missed events.
  Event first = AssignmentStartedEvent(AssignAndGet("m-li", "ops-director", v1::ASSIGNMENT_KIND_SECONDARY, "2026-02-01"));
  Publish(first);
  ASSERT_TRUE(Eventually([&] { return follower->listener_events() >= 1; }));
  EXPECT_EQ(follower->listener_resyncs(), 3);
  ++sequence_;
  Publish(RelayEvent("opsteam.org.phase.created", v1::PhaseChanged(), "phases/p1", "CreatePhase", ""));
  ASSERT_TRUE(Eventually([&] { return follower->listener_events() >= 2; }));
  EXPECT_EQ(follower->listener_resyncs(), 4);
}

TEST_F(OrgClientTest, WithRedisDownAnswersComeFromTheSourceAndStayCorrect) {
  auto client = NewClient({.layers = kRedisOnly});
  const auto assign = CheckRequest("m-zhang", v1::AUTHORITY_TYPE_ASSIGN_WORK, "sales-1");
  ASSERT_TRUE(client->CheckAuthority(assign)->allowed());
  ASSERT_TRUE(client->CheckAuthority(assign)->allowed());
  ASSERT_EQ(client->cache_stats().redis_hits, 1);

  TestEnv::Get().redis().Kill();
  const cache::Stats before = client->cache_stats();
  for (int i = 0; i < 3; ++i) {
    auto check = client->CheckAuthority(assign);
    ASSERT_TRUE(check.ok()) << check.status();
    EXPECT_THAT(*check, EqualsProto(Direct(&Stub::CheckAuthority, assign)));
    auto authorities = client->ListAuthorities("members/m-zhang", kDay);
    ASSERT_TRUE(authorities.ok()) << authorities.status();
    EXPECT_THAT(*authorities, EqualsProto(DirectAuthorities("m-zhang")));
    auto posts = client->GetMemberPosts("members/m-zhang", kDay);
    ASSERT_TRUE(posts.ok()) << posts.status();
    EXPECT_THAT(*posts, EqualsProto(DirectPosts("m-zhang")));
    auto dept = client->GetDepartment("departments/sales-1", kDay);
    ASSERT_TRUE(dept.ok()) << dept.status();
    EXPECT_THAT(*dept, EqualsProto(DirectDepartment("sales-1")));
    EXPECT_EQ(Names(client->ListSubtree("departments/kuaishou", kDay)), DirectSubtree("kuaishou"));
  }
  // A change while Redis is down is seen at once: nothing is cached.
  DropAssignWorkFromS1Director();
  EXPECT_FALSE(client->CheckAuthority(assign)->allowed());
  const cache::Stats down = client->cache_stats();
  EXPECT_GT(down.redis_errors, before.redis_errors);
  EXPECT_EQ(down.fills, before.fills);
  EXPECT_EQ(down.redis_hits, before.redis_hits);

  ASSERT_TRUE(TestEnv::Get().redis().Restart().ok());
  redis_clock_.Advance(absl::Seconds(2));  // past the clients' reconnect backoff
  EXPECT_FALSE(client->CheckAuthority(assign)->allowed());
  EXPECT_FALSE(client->CheckAuthority(assign)->allowed());
  const cache::Stats back = client->cache_stats();
  EXPECT_EQ(back.fills, down.fills + 1);
  EXPECT_EQ(back.redis_hits, down.redis_hits + 1);
}

TEST_F(OrgClientTest, ServerErrorsComeBackWithTheirDetailsAndAreNotCached) {
  auto client = NewClient();
  for (int i = 0; i < 2; ++i) {
    auto missing = client->GetDepartment("departments/nope", kDay);
    EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
    EXPECT_EQ(ErrorReason(missing.status()), "RESOURCE_NOT_FOUND");
    auto nobody = client->CheckAuthority(CheckRequest("m-nobody", v1::AUTHORITY_TYPE_ASSESS, "sales"));
    EXPECT_EQ(nobody.status().code(), absl::StatusCode::kNotFound) << nobody.status();
    auto posts = client->GetMemberPosts("members/m-nobody", kDay);
    EXPECT_EQ(posts.status().code(), absl::StatusCode::kNotFound) << posts.status();
  }
  EXPECT_EQ(client->cache_stats().fills, 0);
  EXPECT_EQ(client->cache_stats().local_hits + client->cache_stats().redis_hits, 0);

  // Bad input: checked here where the client takes names, by the server otherwise.
  EXPECT_EQ(ErrorField(client->ListAuthorities("m-li", kDay).status()), "member");
  EXPECT_EQ(ErrorField(client->GetMemberPosts("members/M LI", kDay).status()), "member");
  EXPECT_EQ(ErrorField(client->GetDepartment("departments/sales", "2026-13-01").status()), "as_of");
  EXPECT_EQ(ErrorField(client->ListSubtree("sales", kDay).status()), "department");
  auto unspecified = client->CheckAuthority(CheckRequest("m-li", v1::AUTHORITY_TYPE_UNSPECIFIED, "sales"));
  EXPECT_EQ(unspecified.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(unspecified.status()), "authority");
  auto no_amount = client->CheckAuthority(CheckRequest("m-li", v1::AUTHORITY_TYPE_SPEND_BUDGET, "sales"));
  EXPECT_EQ(ErrorField(no_amount.status()), "amount");
}

TEST_F(OrgClientTest, LargeSubtreesAreAnsweredButNotCached) {
  Options o = ClientOptions({});
  o.max_cached_subtree = 2;
  auto client = NewClient(o);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Names(client->ListSubtree("departments/kuaishou", kDay)), DirectSubtree("kuaishou"));
  }
  EXPECT_EQ(client->cache_stats().fills, 0);
  EXPECT_EQ(Names(client->ListSubtree("departments/monetisation", kDay)).size(), 2u);
  EXPECT_EQ(Names(client->ListSubtree("departments/monetisation", kDay)).size(), 2u);
  EXPECT_EQ(client->cache_stats().fills, 1);
  EXPECT_EQ(client->cache_stats().local_hits, 1);
}

// Stop the org service, then start it again on the same port during the client's retries:
// the call succeeds after UNAVAILABLE attempts.
TEST_F(OrgClientTest, UnavailableIsRetriedAcrossAServerRestart) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 50);
  const int port = server_->port();
  auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials(), args);
  Options o = ClientOptions({.layers = kNone});
  o.deadline = absl::Seconds(20);
  o.max_attempts = 200;
  o.initial_backoff = absl::Milliseconds(10);
  o.max_backoff = absl::Milliseconds(50);
  std::atomic<int> attempts{0};
  int restart_at = -1;
  o.token_provider = [&] {
    const int n = ++attempts;
    if (n == restart_at) {
      // The second attempt of the call below: bring the service back on its port.
      service_ = std::make_unique<org::OrgGrpcService>(*logic_, *workers_, *auth_, notifier_.get());
      rpc::ServerOptions options;
      options.listen_address = absl::StrCat("127.0.0.1:", port);
      auto server = rpc::Server::Start(options, {service_.get()});
      EXPECT_TRUE(server.ok()) << server.status();
      if (server.ok()) server_ = std::move(*server);
    }
    return admin_token();
  };
  auto created = OrgClient::Create(channel, o);
  ASSERT_TRUE(created.ok()) << created.status();
  auto& client = **created;
  ASSERT_TRUE(client.GetDepartment("departments/sales", kDay).ok());

  server_->Stop();
  server_.reset();
  attempts = 0;
  restart_at = 2;
  auto got = client.GetDepartment("departments/sales", kDay);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->display_name(), "销售部");
  EXPECT_GE(attempts.load(), 2);
}

TEST_F(OrgClientTest, OptionsAreCheckedByName) {
  EXPECT_EQ(ErrorField(OrgClient::Create(nullptr, Options()).status()), "channel");
  Options o;
  o.deadline = absl::ZeroDuration();
  EXPECT_EQ(ErrorField(OrgClient::Create(channel_, o).status()), "deadline");
  o = Options();
  o.max_attempts = 0;
  EXPECT_EQ(ErrorField(OrgClient::Create(channel_, o).status()), "max_attempts");
  o = Options();
  o.follow_events = true;
  EXPECT_EQ(ErrorField(OrgClient::Create(channel_, o).status()), "follow_events");
  o = Options();
  o.cache.prefix.clear();
  EXPECT_EQ(ErrorField(OrgClient::Create(channel_, o).status()), "cache.prefix");
}

}  // namespace
}  // namespace opsteam::orgclient
