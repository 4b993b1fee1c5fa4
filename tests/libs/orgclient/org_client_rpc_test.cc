// How OrgClient calls: against a small stand-in org service that answers with scripted codes
// and records what each call carried (deadline, authorization, as_of), so attempts can be
// counted on the server side.

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "libs/orgclient/org_client.h"
#include "libs/rpc/server.h"
#include "libs/status/status.h"

namespace opsteam::orgclient {
namespace {

namespace v1 = ::opsteam::org::v1;
using ::testing::ElementsAre;

// The server rebuilds a call's deadline from the transmitted timeout against its own clock
// reading; the two clocks differ by a few milliseconds.
constexpr absl::Duration kTimeoutRounding = absl::Milliseconds(50);

// What one call carried.
struct Seen {
  std::string method;
  std::string authorization;  // "" when absent
  absl::Duration deadline_left;  // InfiniteDuration when the call had none
  std::string as_of;
};

class ScriptedOrgService final : public v1::OrgService::CallbackService {
 public:
  // The codes the next calls fail with, in order; calls beyond them succeed.
  void FailNext(std::vector<grpc::StatusCode> codes) {
    absl::MutexLock lock(&mu_);
    failures_.assign(codes.begin(), codes.end());
  }
  std::vector<Seen> seen() const {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  void Forget() {
    absl::MutexLock lock(&mu_);
    seen_.clear();
  }

  grpc::ServerUnaryReactor* CheckAuthority(grpc::CallbackServerContext* ctx, const v1::CheckAuthorityRequest* req,
                                           v1::CheckAuthorityResponse* resp) override {
    resp->set_allowed(true);
    return Answer(ctx, "CheckAuthority", req->as_of());
  }
  grpc::ServerUnaryReactor* ListAuthorities(grpc::CallbackServerContext* ctx, const v1::ListAuthoritiesRequest* req,
                                            v1::ListAuthoritiesResponse* resp) override {
    resp->add_authorities()->set_position("positions/p1");
    return Answer(ctx, "ListAuthorities", req->as_of());
  }
  grpc::ServerUnaryReactor* GetMember(grpc::CallbackServerContext* ctx, const v1::GetMemberRequest* req,
                                      v1::GetMemberResponse* resp) override {
    resp->mutable_member()->set_name(req->name());
    return Answer(ctx, "GetMember", "");
  }
  grpc::ServerUnaryReactor* ListAssignments(grpc::CallbackServerContext* ctx, const v1::ListAssignmentsRequest* req,
                                            v1::ListAssignmentsResponse* resp) override {
    // Two pages of one assignment each.
    auto* a = resp->add_assignments();
    a->set_member(req->member());
    if (req->page_token().empty()) {
      a->set_name("assignments/a1");
      a->set_position("positions/p1");
      resp->set_next_page_token("page-2");
    } else {
      a->set_name("assignments/a2");
      a->set_position("positions/p2");
    }
    return Answer(ctx, "ListAssignments", req->as_of());
  }
  grpc::ServerUnaryReactor* GetPosition(grpc::CallbackServerContext* ctx, const v1::GetPositionRequest* req,
                                        v1::GetPositionResponse* resp) override {
    resp->mutable_position()->set_name(req->name());
    resp->mutable_position()->set_department("departments/d1");
    resp->mutable_position()->set_filled(1);
    return Answer(ctx, "GetPosition", req->as_of());
  }
  grpc::ServerUnaryReactor* GetDepartment(grpc::CallbackServerContext* ctx, const v1::GetDepartmentRequest* req,
                                          v1::GetDepartmentResponse* resp) override {
    resp->mutable_department()->set_name(req->name());
    return Answer(ctx, "GetDepartment", req->as_of());
  }
  grpc::ServerUnaryReactor* ListDepartments(grpc::CallbackServerContext* ctx, const v1::ListDepartmentsRequest* req,
                                            v1::ListDepartmentsResponse* resp) override {
    resp->add_departments()->set_name(req->page_token().empty() ? "departments/c1" : "departments/c2");
    if (req->page_token().empty()) resp->set_next_page_token("page-2");
    return Answer(ctx, "ListDepartments", req->as_of());
  }

 private:
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* ctx, const std::string& method,
                                   const std::string& as_of) {
    Seen s;
    s.method = method;
    s.as_of = as_of;
    const auto& md = ctx->client_metadata();
    if (auto it = md.find("authorization"); it != md.end()) s.authorization.assign(it->second.data(), it->second.size());
    const auto deadline = ctx->deadline();
    s.deadline_left = deadline == std::chrono::system_clock::time_point::max()
                          ? absl::InfiniteDuration()
                          : absl::FromChrono(deadline) - absl::Now();
    grpc::Status status = grpc::Status::OK;
    {
      absl::MutexLock lock(&mu_);
      seen_.push_back(s);
      if (!failures_.empty()) {
        const grpc::StatusCode code = failures_.front();
        failures_.pop_front();
        status = code == grpc::StatusCode::NOT_FOUND ? ToGrpcStatus(NotFound("departments/d1"))
                                                     : grpc::Status(code, absl::StrCat("scripted ", code));
      }
    }
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }

  mutable absl::Mutex mu_;
  std::deque<grpc::StatusCode> failures_ ABSL_GUARDED_BY(mu_);
  std::vector<Seen> seen_ ABSL_GUARDED_BY(mu_);
};

class OrgClientRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = rpc::Server::Start(rpc::ServerOptions(), {&service_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials());
  }

  // No cache at all unless a test asks: every read reaches the server.
  std::unique_ptr<OrgClient> NewClient(Options o = Uncached()) {
    auto c = OrgClient::Create(channel_, std::move(o));
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  static Options Uncached() {
    Options o;
    o.cache.local_capacity = 0;
    o.initial_backoff = absl::Milliseconds(1);
    o.max_backoff = absl::Milliseconds(4);
    o.today = [] { return absl::CivilDay(2026, 4, 1); };
    return o;
  }

  int Calls(const std::string& method) const {
    int n = 0;
    for (const auto& s : service_.seen()) n += s.method == method;
    return n;
  }

  ScriptedOrgService service_;
  std::unique_ptr<rpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(OrgClientRpcTest, UnavailableIsRetriedWithinTheAttempts) {
  auto client = NewClient();
  service_.FailNext({grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::UNAVAILABLE});
  auto got = client->GetDepartment("departments/d1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name(), "departments/d1");
  EXPECT_EQ(Calls("GetDepartment"), 3);

  service_.Forget();
  service_.FailNext({grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::UNAVAILABLE,
                     grpc::StatusCode::UNAVAILABLE});
  auto failed = client->GetDepartment("departments/d1");
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
  EXPECT_EQ(Calls("GetDepartment"), 3);  // max_attempts
}

TEST_F(OrgClientRpcTest, OtherCodesAreNeverRetried) {
  auto client = NewClient();
  for (grpc::StatusCode code : {grpc::StatusCode::NOT_FOUND, grpc::StatusCode::INVALID_ARGUMENT,
                                grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::PERMISSION_DENIED,
                                grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::INTERNAL}) {
    SCOPED_TRACE(code);
    service_.Forget();
    service_.FailNext({code});
    auto got = client->GetDepartment("departments/d1");
    EXPECT_EQ(static_cast<int>(got.status().code()), static_cast<int>(code)) << got.status();
    EXPECT_EQ(Calls("GetDepartment"), 1);
  }
  service_.Forget();
  service_.FailNext({grpc::StatusCode::NOT_FOUND});
  EXPECT_EQ(ErrorReason(client->GetDepartment("departments/d1").status()), "RESOURCE_NOT_FOUND");
}

TEST_F(OrgClientRpcTest, ErrorsAreNotCached) {
  Options o = Uncached();
  o.cache.local_capacity = 100;
  auto client = NewClient(o);
  service_.FailNext({grpc::StatusCode::NOT_FOUND, grpc::StatusCode::INVALID_ARGUMENT});
  EXPECT_FALSE(client->GetDepartment("departments/d1").ok());
  EXPECT_FALSE(client->GetDepartment("departments/d1").ok());
  EXPECT_TRUE(client->GetDepartment("departments/d1").ok());
  EXPECT_TRUE(client->GetDepartment("departments/d1").ok());  // now cached
  EXPECT_EQ(Calls("GetDepartment"), 3);
}

TEST_F(OrgClientRpcTest, RetriesStopAtTheDeadline) {
  Options o = Uncached();
  o.max_attempts = 1000;
  o.initial_backoff = absl::Milliseconds(20);
  o.max_backoff = absl::Milliseconds(20);
  o.deadline = absl::Milliseconds(300);
  auto client = NewClient(o);
  service_.FailNext(std::vector<grpc::StatusCode>(1000, grpc::StatusCode::UNAVAILABLE));
  auto got = client->GetDepartment("departments/d1");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
  // Pauses of at least 10 ms within 300 ms.
  EXPECT_LE(Calls("GetDepartment"), 31);
  EXPECT_GE(Calls("GetDepartment"), 2);
}

TEST_F(OrgClientRpcTest, EveryCallHasADeadlineAndTheEarlierOneWins) {
  Options o = Uncached();
  o.deadline = absl::Seconds(2);
  auto client = NewClient(o);
  v1::CheckAuthorityRequest check;
  check.set_member("members/m1");
  check.set_department("departments/d1");
  check.set_authority(v1::AUTHORITY_TYPE_ASSESS);
  ASSERT_TRUE(client->CheckAuthority(check).ok());
  ASSERT_TRUE(client->ListAuthorities("members/m1").ok());
  ASSERT_TRUE(client->GetMemberPosts("members/m1").ok());
  ASSERT_TRUE(client->GetDepartment("departments/d1").ok());
  ASSERT_TRUE(client->ListSubtree("departments/d1").ok());
  v1::GetMemberRequest member;
  member.set_name("members/m1");
  v1::GetMemberResponse resp;
  ASSERT_TRUE(client->Call(&v1::OrgService::Stub::GetMember, member, &resp).ok());
  const auto seen = service_.seen();
  ASSERT_EQ(seen.size(), 12u);  // posts: member, 2 pages, 2 positions, 1 department
  for (const auto& s : seen) {
    EXPECT_LE(s.deadline_left, absl::Seconds(2) + kTimeoutRounding) << s.method;
    EXPECT_GT(s.deadline_left, absl::Seconds(1)) << s.method;
  }

  // A caller's earlier deadline (its own incoming call's) is the one sent.
  service_.Forget();
  const absl::Time parent = absl::Now() + absl::Milliseconds(300);
  ASSERT_TRUE(client->GetMemberPosts("members/m1", "", parent).ok());
  ASSERT_TRUE(client->CheckAuthority(check, parent).ok());
  for (const auto& s : service_.seen()) {
    EXPECT_LE(s.deadline_left, absl::Milliseconds(300) + kTimeoutRounding) << s.method;
  }

  // Already past: no call goes out with time left.
  service_.Forget();
  auto late = client->GetDepartment("departments/d1", "", absl::Now() - absl::Seconds(1));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded) << late.status();
}

TEST_F(OrgClientRpcTest, TheTokenGoesOnEveryAttemptAsABearerToken) {
  Options o = Uncached();
  int issued = 0;
  o.token_provider = [&] { return absl::StrCat("tok-", ++issued); };
  auto client = NewClient(o);
  service_.FailNext({grpc::StatusCode::UNAVAILABLE});
  ASSERT_TRUE(client->ListAuthorities("members/m1").ok());
  ASSERT_TRUE(client->ListSubtree("departments/d1").ok());
  grpc::ClientContext context;
  client->PrepareContext(&context);
  v1::GetMemberRequest member;
  member.set_name("members/m1");
  v1::GetMemberResponse resp;
  ASSERT_TRUE(client->stub().GetMember(&context, member, &resp).ok());
  std::vector<std::string> tokens;
  for (const auto& s : service_.seen()) tokens.push_back(s.authorization);
  EXPECT_THAT(tokens, ElementsAre("Bearer tok-1", "Bearer tok-2", "Bearer tok-3", "Bearer tok-4", "Bearer tok-5"));

  // No token (auth not configured): no header at all.
  service_.Forget();
  auto anonymous = NewClient(Uncached());
  ASSERT_TRUE(anonymous->ListAuthorities("members/m1").ok());
  o = Uncached();
  o.token_provider = [] { return std::string(); };
  ASSERT_TRUE(NewClient(o)->ListAuthorities("members/m1").ok());
  for (const auto& s : service_.seen()) EXPECT_EQ(s.authorization, "");
}

TEST_F(OrgClientRpcTest, ReadsAskForAnExplicitDay) {
  auto client = NewClient();
  v1::CheckAuthorityRequest check;
  check.set_member("members/m1");
  check.set_department("departments/d1");
  check.set_authority(v1::AUTHORITY_TYPE_ASSESS);
  ASSERT_TRUE(client->CheckAuthority(check).ok());
  ASSERT_TRUE(client->GetMemberPosts("members/m1").ok());
  ASSERT_TRUE(client->ListSubtree("departments/d1", "2026-05-02").ok());
  for (const auto& s : service_.seen()) {
    if (s.method == "GetMember") continue;  // members are not effective-dated
    EXPECT_EQ(s.as_of, s.method == "ListDepartments" ? "2026-05-02" : "2026-04-01") << s.method;
  }
}

TEST_F(OrgClientRpcTest, CompositeReadsFollowEveryPage) {
  auto client = NewClient();
  auto posts = client->GetMemberPosts("members/m1", "2026-04-01");
  ASSERT_TRUE(posts.ok()) << posts.status();
  ASSERT_EQ(posts->posts_size(), 2);
  EXPECT_EQ(posts->posts(1).assignment().name(), "assignments/a2");
  EXPECT_EQ(posts->posts(1).position().name(), "positions/p2");
  EXPECT_EQ(posts->posts(1).position().filled(), 0);  // left out, see member_posts.proto
  EXPECT_EQ(posts->posts(1).department().name(), "departments/d1");
  EXPECT_EQ(Calls("GetDepartment"), 1);  // shared by both posts
  auto subtree = client->ListSubtree("departments/d1", "2026-04-01");
  ASSERT_TRUE(subtree.ok()) << subtree.status();
  ASSERT_EQ(subtree->size(), 2u);
  EXPECT_EQ((*subtree)[1].name(), "departments/c2");
}

// Pass-through calls retry only when asked: a write may have been applied before the
// connection broke.
TEST_F(OrgClientRpcTest, PassThroughCallsRetryOnlyWhenAsked) {
  auto client = NewClient();
  v1::GetMemberRequest member;
  member.set_name("members/m1");
  v1::GetMemberResponse resp;
  service_.FailNext({grpc::StatusCode::UNAVAILABLE});
  EXPECT_EQ(client->Call(&v1::OrgService::Stub::GetMember, member, &resp).code(), absl::StatusCode::kUnavailable);
  service_.FailNext({grpc::StatusCode::UNAVAILABLE});
  EXPECT_TRUE(client->Call(&v1::OrgService::Stub::GetMember, member, &resp, Retry::kOnUnavailable).ok());
  EXPECT_EQ(resp.member().name(), "members/m1");
  EXPECT_EQ(Calls("GetMember"), 3);
}

}  // namespace
}  // namespace opsteam::orgclient
