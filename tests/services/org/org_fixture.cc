#include "tests/services/org/org_fixture.h"

#include <algorithm>
#include <filesystem>

#include "absl/random/random.h"
#include "absl/time/clock.h"
#include "libs/testing/test_env.h"
#include "services/org/migrations.h"

namespace opsteam::org::testing {

void OrgTest::SetUp() {
  absl::BitGen random;
  for (int i = 0; i < 48; ++i) jwt_secret_.push_back(static_cast<char>(absl::Uniform<int>(random, 0, 256)));
  auto signer = auth::JwtSigner::Hs256(jwt_secret_);
  ASSERT_TRUE(signer.ok()) << signer.status();
  signer_ = std::make_unique<auth::JwtSigner>(*std::move(signer));
  auto key = auth::VerificationKey::Hs256(jwt_secret_);
  ASSERT_TRUE(key.ok()) << key.status();
  auto verifier = auth::JwtVerifier::Create(auth::VerifierOptions(), {*std::move(key)});
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  auth_ = std::make_unique<auth::JwtAuthenticator>(*std::move(verifier));
  admin_token_ = Token("members/m-admin", {auth::kRoleAdministrator});

  conninfo_ = opsteam::testing::TestEnv::Get().NewDatabase("org", Migrations());
  pool_ = std::make_unique<pg::Pool>(pg::PoolOptions{.conninfo = conninfo_, .size = 12});
  logic_ = std::make_unique<OrgLogic>(*pool_);
  workers_ = std::make_unique<rpc::WorkerPool>(12, 1000);
  notifier_ = std::make_unique<events::OutboxNotifier>(conninfo_, "org");
  notifier_->Start();
  service_ = std::make_unique<OrgGrpcService>(*logic_, *workers_, *auth_, notifier_.get());
  rpc::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.health_probe = [this] { return pool_->Ping(); };
  auto server = rpc::Server::Start(options, {service_.get()});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  auto channel = rpc::MakeChannel(address(), rpc::ClientTlsOptions());
  ASSERT_TRUE(channel.ok()) << channel.status();
  channel_ = *std::move(channel);
  stub_ = v1::OrgService::NewStub(channel_);
}

std::string OrgTest::Token(const std::string& subject, const std::vector<std::string>& roles, absl::Duration ttl) {
  auth::TokenClaims claims;
  claims.subject = subject;
  claims.roles = roles;
  const absl::Time now = absl::Now();
  claims.issued_at = ttl > absl::ZeroDuration() ? now : now + ttl - absl::Hours(1);
  claims.expires = now + ttl;
  absl::StatusOr<std::string> token = signer_->Sign(claims);
  EXPECT_TRUE(token.ok()) << subject << ": " << token.status();
  return token.ok() ? *token : "";
}

std::string OrgTest::address() const { return absl::StrCat("127.0.0.1:", server_->port()); }

void OrgTest::TearDown() {
  stub_.reset();
  channel_.reset();
  server_.reset();
  notifier_.reset();
  workers_.reset();
}

v1::Department OrgTest::MakeDepartment(const std::string& id, const std::string& parent_id,
                                       const std::string& display_name, v1::DepartmentKind kind,
                                       const std::string& effective_date) {
  v1::CreateDepartmentRequest req;
  req.set_department_id(id);
  req.set_effective_date(effective_date);
  auto* d = req.mutable_department();
  d->set_display_name(display_name.empty() ? id : display_name);
  d->set_kind(kind);
  if (!parent_id.empty()) d->set_parent("departments/" + parent_id);
  v1::CreateDepartmentResponse resp;
  grpc::Status s = Call(&v1::OrgService::Stub::CreateDepartment, req, &resp);
  EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
  return resp.department();
}

v1::Position OrgTest::MakePosition(const std::string& id, const std::string& department_id,
                                   int headcount, const std::string& reports_to_id,
                                   const std::string& effective_date) {
  v1::CreatePositionRequest req;
  req.set_position_id(id);
  req.set_effective_date(effective_date);
  auto* p = req.mutable_position();
  p->set_department("departments/" + department_id);
  p->set_title(id);
  p->set_grade(v1::GRADE_SPECIALIST);
  p->set_headcount(headcount);
  if (!reports_to_id.empty()) p->set_reports_to("positions/" + reports_to_id);
  v1::CreatePositionResponse resp;
  grpc::Status s = Call(&v1::OrgService::Stub::CreatePosition, req, &resp);
  EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
  return resp.position();
}

v1::Member OrgTest::MakeMember(const std::string& id, const std::string& display_name,
                               const std::string& start) {
  v1::CreateMemberRequest req;
  req.set_member_id(id);
  req.mutable_member()->set_display_name(display_name.empty() ? id : display_name);
  req.mutable_member()->set_employment_start_date(start);
  v1::CreateMemberResponse resp;
  grpc::Status s = Call(&v1::OrgService::Stub::CreateMember, req, &resp);
  EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
  return resp.member();
}

grpc::Status OrgTest::Assign(const std::string& member_id, const std::string& position_id,
                             v1::AssignmentKind kind, const std::string& start,
                             const std::string& end, v1::Assignment* out) {
  v1::AssignMemberRequest req;
  req.set_member("members/" + member_id);
  req.set_position("positions/" + position_id);
  req.set_kind(kind);
  req.set_start_date(start);
  req.set_end_date(end);
  v1::AssignMemberResponse resp;
  grpc::Status s = Call(&v1::OrgService::Stub::AssignMember, req, &resp);
  if (out) *out = resp.assignment();
  return s;
}

void OrgTest::SetLead(const std::string& department_id, const std::string& position_id,
                      const std::string& effective_date) {
  v1::UpdateDepartmentRequest req;
  req.mutable_department()->set_name("departments/" + department_id);
  req.mutable_department()->set_lead_position("positions/" + position_id);
  req.mutable_update_mask()->add_paths("lead_position");
  req.set_effective_date(effective_date);
  v1::UpdateDepartmentResponse resp;
  grpc::Status s = Call(&v1::OrgService::Stub::UpdateDepartment, req, &resp);
  EXPECT_TRUE(s.ok()) << department_id << ": " << s.error_message();
}

std::vector<std::string> OrgTest::ChangeMethods(const std::string& resource) {
  v1::ListChangesRequest req;
  req.set_resource(resource);
  req.set_page_size(1000);
  v1::ListChangesResponse resp;
  EXPECT_THAT(Call(&v1::OrgService::Stub::ListChanges, req, &resp), IsOk());
  std::vector<std::string> out;
  for (const auto& c : resp.changes()) out.push_back(c.method());
  return out;
}

std::vector<std::string> DemoCharts(const std::string& source_dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(source_dir + "/deploy/demo")) {
    if (e.path().extension() == ".textproto") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace opsteam::org::testing
