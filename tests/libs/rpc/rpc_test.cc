#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "libs/auth/jwt.h"
#include "libs/auth/jwt_authenticator.h"
#include "libs/rpc/authorize.h"
#include "libs/rpc/call_context.h"
#include "libs/rpc/channel.h"
#include "libs/rpc/server.h"
#include "libs/rpc/unary.h"
#include "libs/rpc/worker_pool.h"
#include "libs/status/status.h"
#include "opsteam/org/v1/org_service.grpc.pb.h"

namespace opsteam::rpc {
namespace {

using ::opsteam::org::v1::GetMemberRequest;
using ::opsteam::org::v1::GetMemberResponse;
using ::opsteam::org::v1::OrgService;
using ::opsteam::org::v1::WatchChangesRequest;
using ::opsteam::org::v1::WatchChangesResponse;

// Upper bound for waits on events that normally happen at once; only reached on failure.
constexpr absl::Duration kPatience = absl::Seconds(30);

// ---- WorkerPool -------------------------------------------------------------------------

TEST(WorkerPoolTest, RunsEverySubmittedTask) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(4, 10000);
    for (int i = 0; i < 1000; ++i) {
      ASSERT_TRUE(pool.TrySubmit([&ran] { ran.fetch_add(1); }));
    }
  }  // the destructor runs what is queued, then joins
  EXPECT_EQ(ran.load(), 1000);
}

TEST(WorkerPoolTest, TrySubmitRefusesWhenTheQueueIsFull) {
  absl::Notification started;
  absl::Notification release;
  std::atomic<int> ran{0};
  {
    WorkerPool pool(1, 2);
    absl::Cleanup unblock = [&release] {
      if (!release.HasBeenNotified()) release.Notify();
    };
    ASSERT_TRUE(pool.TrySubmit([&] {
      started.Notify();
      release.WaitForNotification();
    }));
    ASSERT_TRUE(started.WaitForNotificationWithTimeout(kPatience));
    // The only worker is busy: two tasks fit the queue, the third does not.
    EXPECT_TRUE(pool.TrySubmit([&ran] { ran.fetch_add(1); }));
    EXPECT_TRUE(pool.TrySubmit([&ran] { ran.fetch_add(1); }));
    EXPECT_EQ(pool.queued(), 2u);
    EXPECT_FALSE(pool.TrySubmit([&ran] { ran.fetch_add(100); }));
    EXPECT_EQ(pool.queued(), 2u);
    release.Notify();
  }
  EXPECT_EQ(ran.load(), 2);
}

// ---- Tokens -------------------------------------------------------------------------------

// HS256 tokens under one secret made per test program.
class Tokens {
 public:
  Tokens() {
    const std::string secret(48, 'k');
    auto signer = auth::JwtSigner::Hs256(secret);
    auto key = auth::VerificationKey::Hs256(secret);
    EXPECT_TRUE(signer.ok() && key.ok());
    signer_ = std::make_unique<auth::JwtSigner>(*std::move(signer));
    auto verifier = auth::JwtVerifier::Create(auth::VerifierOptions(), {*std::move(key)});
    EXPECT_TRUE(verifier.ok()) << verifier.status();
    authenticator_ = std::make_unique<auth::JwtAuthenticator>(*std::move(verifier));
  }

  const Authenticator& authenticator() const { return *authenticator_; }

  std::string Token(const std::string& subject, std::vector<std::string> roles = {},
                    absl::Duration ttl = absl::Hours(1)) const {
    auth::TokenClaims claims;
    claims.subject = subject;
    claims.roles = std::move(roles);
    claims.issued_at = absl::Now() - absl::Hours(2);
    claims.expires = absl::Now() + ttl;
    auto token = signer_->Sign(claims);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }
  std::string Admin() const { return Token("members/m-admin", {"administrator"}); }

 private:
  std::unique_ptr<auth::JwtSigner> signer_;
  std::unique_ptr<auth::JwtAuthenticator> authenticator_;
};

const Tokens& TestTokens() {
  static const Tokens* tokens = new Tokens();
  return *tokens;
}

// ---- A test service ---------------------------------------------------------------------

using Handler = std::function<absl::Status(const GetMemberRequest&, GetMemberResponse*)>;

// GetMember runs `handler` through RunUnary with `access`; WatchChanges only passes the
// gate (administrator or service) and then ends the stream with one message.
class TestOrgService : public OrgService::CallbackService {
 public:
  TestOrgService(WorkerPool& pool, Handler handler, Access access = Access::kAuthenticated)
      : pool_(pool), handler_(std::move(handler)), access_(access) {}

  grpc::ServerUnaryReactor* GetMember(grpc::CallbackServerContext* ctx,
                                      const GetMemberRequest* request,
                                      GetMemberResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      contexts_.push_back(ctx);
    }
    grpc::ServerUnaryReactor* reactor = RunUnary(ctx, pool_, TestTokens().authenticator(), access_,
                                                 [this, request, response] { return handler_(*request, response); });
    absl::MutexLock lock(&mu_);
    ++dispatched_;
    return reactor;
  }

  grpc::ServerWriteReactor<WatchChangesResponse>* WatchChanges(grpc::CallbackServerContext* ctx,
                                                               const WatchChangesRequest* /*request*/) override {
    absl::StatusOr<CallContext> call = Authorize(ctx, TestTokens().authenticator(), Access::kAdministratorOrService);
    if (!call.ok()) return FinishedWriter<WatchChangesResponse>(call.status());
    return new OneMessage(call->actor);
  }

  // Waits until `n` calls have been handed to RunUnary.
  bool WaitDispatched(int n) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return dispatched_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), kPatience);
  }

  // The server context of the `i`-th call; valid while that call is unfinished.
  grpc::CallbackServerContext* context(size_t i) {
    absl::MutexLock lock(&mu_);
    return contexts_.at(i);
  }

 private:
  // Sends one message whose head_sequence is the length of the caller's name, then OK.
  class OneMessage : public grpc::ServerWriteReactor<WatchChangesResponse> {
   public:
    explicit OneMessage(const std::string& actor) {
      response_.set_head_sequence(static_cast<int64_t>(actor.size()));
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    WatchChangesResponse response_;
  };

  WorkerPool& pool_;
  Handler handler_;
  const Access access_;
  absl::Mutex mu_;
  int dispatched_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<grpc::CallbackServerContext*> contexts_ ABSL_GUARDED_BY(mu_);
};

absl::Status ReturnMember(const GetMemberRequest& request, GetMemberResponse* response) {
  response->mutable_member()->set_name(request.name());
  response->mutable_member()->set_display_name("Ada");
  return absl::OkStatus();
}

// One asynchronous GetMember call.
class PendingCall {
 public:
  PendingCall(OrgService::Stub& stub, const std::string& name,
              std::optional<absl::Duration> timeout = std::nullopt) {
    request_.set_name(name);
    PrepareClientContext(&ctx_, timeout.value_or(absl::Minutes(5)), TestTokens().Admin());
    stub.async()->GetMember(&ctx_, &request_, &response_, [this](grpc::Status status) {
      status_ = std::move(status);
      done_.Notify();
    });
  }
  ~PendingCall() {
    // Never leave a callback pointing at a destroyed object.
    if (!done_.HasBeenNotified()) ctx_.TryCancel();
    done_.WaitForNotification();
  }

  bool Wait() { return done_.WaitForNotificationWithTimeout(kPatience); }
  bool done() const { return done_.HasBeenNotified(); }
  void Cancel() { ctx_.TryCancel(); }
  const grpc::Status& status() const { return status_; }
  const GetMemberResponse& response() const { return response_; }

 private:
  grpc::ClientContext ctx_;
  GetMemberRequest request_;
  GetMemberResponse response_;
  grpc::Status status_;
  absl::Notification done_;
};

enum class Health { kServing, kNotServing, kError };

std::string HealthName(Health h) {
  switch (h) {
    case Health::kServing:
      return "SERVING";
    case Health::kNotServing:
      return "NOT_SERVING";
    case Health::kError:
      return "error";
  }
  return "?";
}

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return "<bad buffer>";
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// A grpc.health.v1.HealthCheckResponse: field 1 (status) as a varint.
Health DecodeHealth(const grpc::ByteBuffer& buffer) {
  const std::string bytes = Flatten(buffer);
  if (bytes == std::string("\x08\x01", 2)) return Health::kServing;
  if (bytes == std::string("\x08\x02", 2)) return Health::kNotServing;
  return Health::kError;
}

// An empty grpc.health.v1.HealthCheckRequest (service "": the whole server).
grpc::ByteBuffer EmptyRequest() {
  grpc::Slice empty(std::string{});
  return grpc::ByteBuffer(&empty, 1);
}

// Streams grpc.health.v1.Health/Watch and records every status the server sends.
class HealthWatcher : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit HealthWatcher(grpc::GenericStub& stub) : request_(EmptyRequest()) {
    stub.PrepareBidiStreamingCall(&ctx_, "/grpc.health.v1.Health/Watch", grpc::StubOptions(),
                                  this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }
  ~HealthWatcher() override {
    ctx_.TryCancel();
    done_.WaitForNotification();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    {
      absl::MutexLock lock(&mu_);
      seen_.push_back(DecodeHealth(response_));
    }
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& /*status*/) override { done_.Notify(); }

  // Waits until the latest status the server sent is `want`.
  bool WaitFor(Health want) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, want]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !seen_.empty() && seen_.back() == want;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), kPatience);
  }
  std::vector<Health> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  void Cancel() { ctx_.TryCancel(); }

 private:
  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  absl::Notification done_;
  absl::Mutex mu_;
  std::vector<Health> seen_ ABSL_GUARDED_BY(mu_);
};

class ServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // Unblock any handler still waiting, then stop the server before the pool and the
    // handler state go away.
    Release();
    server_.reset();
    pool_.reset();
  }

  // The pool outlives the server: TearDown stops the server before destroying it.
  void StartServer(int threads, size_t max_queued, Handler handler, ServerOptions options = {},
                   Access access = Access::kAuthenticated) {
    pool_ = std::make_unique<WorkerPool>(threads, max_queued);
    service_ = std::make_unique<TestOrgService>(*pool_, std::move(handler), access);
    options.listen_address = "127.0.0.1:0";
    if (!options.health_probe) {
      options.health_probe = [this]() -> absl::Status {
        return healthy_.load() ? absl::OkStatus() : Unavailable("DATABASE_UNAVAILABLE", "down");
      };
    }
    // Only RefreshHealth() changes the published status during a test.
    options.health_interval = absl::Hours(1);
    auto server = Server::Start(options, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_GT(server_->port(), 0);
    auto channel = MakeChannel(absl::StrCat("127.0.0.1:", server_->port()), ClientTlsOptions());
    ASSERT_TRUE(channel.ok()) << channel.status();
    channel_ = *std::move(channel);
    stub_ = OrgService::NewStub(channel_);
    generic_ = std::make_unique<grpc::GenericStub>(channel_);
  }

  // A handler that counts its runs and, for "members/first", signals `entered_` and waits
  // for Release().
  Handler BlockingHandler() {
    return [this](const GetMemberRequest& request, GetMemberResponse* response) {
      {
        absl::MutexLock lock(&ran_mu_);
        ran_.push_back(request.name());
      }
      if (request.name() == "members/first") {
        entered_.Notify();
        release_.WaitForNotification();
      }
      return ReturnMember(request, response);
    };
  }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }
  std::vector<std::string> ran() {
    absl::MutexLock lock(&ran_mu_);
    return ran_;
  }

  // Without a token: health stays open to probes.
  Health Check() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::ByteBuffer request = EmptyRequest();
    grpc::ByteBuffer response;
    absl::Notification done;
    grpc::Status status;
    generic_->UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                        &response, [&](grpc::Status s) {
                          status = std::move(s);
                          done.Notify();
                        });
    done.WaitForNotification();
    if (!status.ok()) return Health::kError;
    return DecodeHealth(response);
  }

  // GetMember as the caller of `token` ("" = none).
  grpc::Status Call(const std::string& name, GetMemberResponse* response,
                    const std::string& token = TestTokens().Admin()) {
    grpc::ClientContext ctx;
    PrepareClientContext(&ctx, absl::Seconds(30), token);
    GetMemberRequest request;
    request.set_name(name);
    return stub_->GetMember(&ctx, request, response);
  }

  // Declared first: destroyed last, after the server and pool that use them.
  absl::Notification entered_;
  absl::Notification release_;
  absl::Mutex ran_mu_;
  std::vector<std::string> ran_ ABSL_GUARDED_BY(ran_mu_);
  std::atomic<bool> healthy_{true};

  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<TestOrgService> service_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<OrgService::Stub> stub_;
  std::unique_ptr<grpc::GenericStub> generic_;
};

google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& status) {
  google::rpc::Status rpc_status;
  EXPECT_TRUE(rpc_status.ParseFromString(status.error_details())) << status.error_message();
  for (const auto& any : rpc_status.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info;
  }
  ADD_FAILURE() << "no ErrorInfo in the details of " << status.error_message();
  return {};
}

TEST_F(ServerTest, AnswersCallsOverARealChannel) {
  StartServer(2, 16, ReturnMember);
  GetMemberResponse response;
  grpc::Status status = Call("members/ada", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.member().name(), "members/ada");
  EXPECT_EQ(response.member().display_name(), "Ada");
}

TEST_F(ServerTest, HealthFollowsTheProbe) {
  StartServer(1, 16, ReturnMember);
  EXPECT_EQ(HealthName(Check()), "SERVING");

  healthy_ = false;
  server_->RefreshHealth();
  EXPECT_EQ(HealthName(Check()), "NOT_SERVING");
  // The service itself keeps answering; only the health status changed.
  GetMemberResponse response;
  EXPECT_TRUE(Call("members/ada", &response).ok());

  healthy_ = true;
  server_->RefreshHealth();
  EXPECT_EQ(HealthName(Check()), "SERVING");
}

TEST_F(ServerTest, ErrorsArriveWithCodeAndDetails) {
  StartServer(1, 16, [](const GetMemberRequest& request, GetMemberResponse*) -> absl::Status {
    if (request.name() == "members/bad") return InvalidArgument("name", "must be members/{id}");
    if (request.name() == "members/secret") return Internal("SELECT * FROM secret");
    return NotFound(request.name());
  });

  GetMemberResponse response;
  grpc::Status missing = Call("members/gone", &response);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(absl::StrContains(missing.error_message(), "members/gone"));
  google::rpc::ErrorInfo info = ErrorInfoOf(missing);
  EXPECT_EQ(info.reason(), "RESOURCE_NOT_FOUND");
  EXPECT_EQ(info.domain(), "opsteam");

  grpc::Status bad = Call("members/bad", &response);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  absl::Status back = FromGrpcStatus(bad);
  EXPECT_EQ(ErrorReason(back), "INVALID_FIELD");
  EXPECT_EQ(ErrorField(back), "name");

  grpc::Status internal = Call("members/secret", &response);
  EXPECT_EQ(internal.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_FALSE(absl::StrContains(internal.error_message(), "secret"));
  EXPECT_FALSE(absl::StrContains(internal.error_details(), "secret"));
  EXPECT_EQ(ErrorInfoOf(internal).reason(), "INTERNAL");
}

// ---- The call gate ------------------------------------------------------------------------

// The ErrorInfo reason and message of a failed call, for one-line expectations.
std::string Refusal(const grpc::Status& status) {
  return absl::StrCat(status.error_code(), " ", ErrorInfoOf(status).reason(), ": ", status.error_message());
}

TEST_F(ServerTest, CallsWithoutAValidTokenAreRefusedBeforeTheyQueue) {
  StartServer(1, 1, BlockingHandler());
  // The only worker is busy and the queue is full: a call that passed the gate would be
  // told SERVER_BUSY.
  PendingCall first(*stub_, "members/first");
  ASSERT_TRUE(entered_.WaitForNotificationWithTimeout(kPatience));
  PendingCall second(*stub_, "members/second");
  ASSERT_TRUE(service_->WaitDispatched(2));

  GetMemberResponse response;
  grpc::Status missing = Call("members/x", &response, "");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Refusal(missing);
  EXPECT_EQ(ErrorInfoOf(missing).reason(), "TOKEN_MISSING");
  EXPECT_TRUE(absl::StrContains(missing.error_message(), "authorization: Bearer <token>")) << Refusal(missing);

  grpc::Status garbage = Call("members/x", &response, "not-a-jwt");
  EXPECT_EQ(garbage.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Refusal(garbage);
  EXPECT_EQ(ErrorInfoOf(garbage).reason(), "TOKEN_INVALID");
  EXPECT_FALSE(absl::StrContains(garbage.error_message(), "not-a-jwt"));

  const std::string expired_token = TestTokens().Token("members/m-li", {}, -absl::Minutes(10));
  grpc::Status expired = Call("members/x", &response, expired_token);
  EXPECT_EQ(expired.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Refusal(expired);
  EXPECT_EQ(ErrorInfoOf(expired).reason(), "TOKEN_EXPIRED");
  EXPECT_TRUE(absl::StrContains(expired.error_message(), "token expired at ")) << Refusal(expired);
  EXPECT_FALSE(absl::StrContains(expired.error_message(), expired_token));

  auto call_with = [&](const std::vector<std::string>& values) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    for (const auto& v : values) ctx.AddMetadata("authorization", v);
    GetMemberRequest request;
    request.set_name("members/x");
    return stub_->GetMember(&ctx, request, &response);
  };
  grpc::Status basic = call_with({"Basic dXNlcjpwYXNz"});
  EXPECT_EQ(ErrorInfoOf(basic).reason(), "TOKEN_INVALID");
  EXPECT_TRUE(absl::StrContains(basic.error_message(), "not a bearer token")) << Refusal(basic);
  grpc::Status twice = call_with({"Bearer " + TestTokens().Admin(), "Bearer " + TestTokens().Admin()});
  EXPECT_EQ(ErrorInfoOf(twice).reason(), "TOKEN_INVALID");
  EXPECT_TRUE(absl::StrContains(twice.error_message(), "more than one")) << Refusal(twice);
  // The scheme is case-insensitive: this one passes the gate and meets the full queue.
  grpc::Status lower = call_with({"bearer " + TestTokens().Admin()});
  EXPECT_EQ(lower.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Refusal(lower);

  Release();
  ASSERT_TRUE(first.Wait());
  ASSERT_TRUE(second.Wait());
  EXPECT_EQ(ran(), (std::vector<std::string>{"members/first", "members/second"}));
}

TEST_F(ServerTest, TheAccessPolicyIsCheckedBeforeTheBodyRuns) {
  std::atomic<int> runs{0};
  StartServer(
      2, 16,
      [&runs](const GetMemberRequest& request, GetMemberResponse*) {
        runs.fetch_add(1);
        return NotFound(request.name());
      },
      {}, Access::kAdministrator);
  GetMemberResponse response;
  grpc::Status member = Call("members/gone", &response, TestTokens().Token("members/m-li"));
  EXPECT_EQ(member.error_code(), grpc::StatusCode::PERMISSION_DENIED) << Refusal(member);
  google::rpc::ErrorInfo info = ErrorInfoOf(member);
  EXPECT_EQ(info.reason(), "PERMISSION_DENIED");
  EXPECT_EQ(info.metadata().at("required_role"), "administrator");
  EXPECT_EQ(member.error_message(), "members/m-li may not make this call: it needs the administrator role");
  grpc::Status service = Call("members/gone", &response, TestTokens().Token("services/tasks", {"service"}));
  EXPECT_EQ(service.error_code(), grpc::StatusCode::PERMISSION_DENIED) << Refusal(service);
  EXPECT_EQ(runs.load(), 0);
  // The administrator gets past the gate, to the body's NOT_FOUND.
  grpc::Status admin = Call("members/gone", &response);
  EXPECT_EQ(admin.error_code(), grpc::StatusCode::NOT_FOUND) << admin.error_message();
  EXPECT_EQ(runs.load(), 1);
}

TEST_F(ServerTest, TheBodyRunsAsTheCaller) {
  StartServer(2, 16, [](const GetMemberRequest&, GetMemberResponse* response) {
    const CallContext& call = CurrentCall();
    response->mutable_member()->set_name(call.actor);
    response->mutable_member()->set_display_name(absl::StrCat(call.member_id, "|", call.administrator, "|", call.service));
    return absl::OkStatus();
  });
  GetMemberResponse response;
  ASSERT_TRUE(Call("members/x", &response, TestTokens().Token("members/m-zhang-wei", {"administrator"})).ok());
  EXPECT_EQ(response.member().name(), "members/m-zhang-wei");
  EXPECT_EQ(response.member().display_name(), "m-zhang-wei|1|0");
  ASSERT_TRUE(Call("members/x", &response, TestTokens().Token("services/tasks", {"service"})).ok());
  EXPECT_EQ(response.member().name(), "services/tasks");
  EXPECT_EQ(response.member().display_name(), "|0|1");
  EXPECT_EQ(CurrentCall().actor, "anonymous");  // outside calls
}

TEST_F(ServerTest, StreamingHandlersPassTheSameGate) {
  StartServer(1, 16, ReturnMember);
  auto watch = [&](const std::string& token, int* messages, int64_t* head) {
    grpc::ClientContext ctx;
    PrepareClientContext(&ctx, absl::Seconds(30), token);
    WatchChangesRequest request;
    auto reader = stub_->WatchChanges(&ctx, request);
    WatchChangesResponse response;
    *messages = 0;
    while (reader->Read(&response)) {
      ++*messages;
      *head = response.head_sequence();
    }
    return reader->Finish();
  };
  int messages = 0;
  int64_t head = 0;
  grpc::Status none = watch("", &messages, &head);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED) << none.error_message();
  EXPECT_EQ(ErrorInfoOf(none).reason(), "TOKEN_MISSING");
  EXPECT_EQ(messages, 0);
  grpc::Status member = watch(TestTokens().Token("members/m-li"), &messages, &head);
  EXPECT_EQ(member.error_code(), grpc::StatusCode::PERMISSION_DENIED) << member.error_message();
  EXPECT_EQ(ErrorInfoOf(member).metadata().at("required_role"), "administrator or service");
  EXPECT_EQ(messages, 0);
  grpc::Status service = watch(TestTokens().Token("services/tasks", {"service"}), &messages, &head);
  EXPECT_TRUE(service.ok()) << service.error_message();
  EXPECT_EQ(messages, 1);
  EXPECT_EQ(head, static_cast<int64_t>(std::string("services/tasks").size()));
}

TEST_F(ServerTest, FullQueueAnswersServerBusy) {
  StartServer(1, 1, BlockingHandler());

  PendingCall first(*stub_, "members/first");
  ASSERT_TRUE(entered_.WaitForNotificationWithTimeout(kPatience));  // the worker is busy
  PendingCall second(*stub_, "members/second");
  ASSERT_TRUE(service_->WaitDispatched(2));  // ... and the queue holds the second call
  EXPECT_EQ(pool_->queued(), 1u);

  GetMemberResponse response;
  grpc::Status busy = Call("members/third", &response);
  EXPECT_EQ(busy.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << busy.error_message();
  EXPECT_EQ(ErrorInfoOf(busy).reason(), "SERVER_BUSY");
  EXPECT_EQ(ErrorReason(FromGrpcStatus(busy)), "SERVER_BUSY");

  Release();
  ASSERT_TRUE(first.Wait());
  ASSERT_TRUE(second.Wait());
  EXPECT_TRUE(first.status().ok()) << first.status().error_message();
  EXPECT_TRUE(second.status().ok()) << second.status().error_message();
  EXPECT_EQ(second.response().member().name(), "members/second");
  // The refused call never ran.
  EXPECT_EQ(ran(), (std::vector<std::string>{"members/first", "members/second"}));
}

TEST_F(ServerTest, CallCancelledWhileQueuedIsNotRun) {
  StartServer(1, 4, BlockingHandler());

  PendingCall first(*stub_, "members/first");
  ASSERT_TRUE(entered_.WaitForNotificationWithTimeout(kPatience));
  PendingCall second(*stub_, "members/second");
  ASSERT_TRUE(service_->WaitDispatched(2));
  second.Cancel();
  ASSERT_TRUE(second.Wait());
  EXPECT_EQ(second.status().error_code(), grpc::StatusCode::CANCELLED);
  // Wait until the server has seen the cancellation (it arrives over the connection).
  grpc::CallbackServerContext* second_ctx = service_->context(1);
  bool seen = false;
  for (int attempt = 0; attempt < 3000 && !seen; ++attempt) {
    seen = second_ctx->IsCancelled();
    if (!seen) absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(seen) << "the server never saw the cancellation";

  Release();
  ASSERT_TRUE(first.Wait());
  EXPECT_TRUE(first.status().ok()) << first.status().error_message();
  // A third call runs after the second on the single worker.
  GetMemberResponse response;
  ASSERT_TRUE(Call("members/third", &response).ok());
  EXPECT_EQ(ran(), (std::vector<std::string>{"members/first", "members/third"}));
}

TEST_F(ServerTest, StopDrainsInFlightCallsAndReportsNotServing) {
  ServerOptions options;
  options.drain_deadline = absl::Seconds(60);  // generous: the call finishes well before
  StartServer(2, 16, BlockingHandler(), options);

  auto watcher = std::make_unique<HealthWatcher>(*generic_);
  ASSERT_TRUE(watcher->WaitFor(Health::kServing));
  PendingCall in_flight(*stub_, "members/first");
  ASSERT_TRUE(entered_.WaitForNotificationWithTimeout(kPatience));

  absl::Notification stopped;
  std::thread stopper([&] {
    server_->Stop();
    stopped.Notify();
  });
  absl::Cleanup join_stopper = [&] {
    Release();
    stopper.join();
  };
  // Load balancers watching health learn first that this replica is going away.
  EXPECT_TRUE(watcher->WaitFor(Health::kNotServing))
      << "health never reported NOT_SERVING after Stop began";
  EXPECT_NE(Check(), Health::kServing);
  watcher->Cancel();  // a watch stream is itself a call the drain would wait for
  EXPECT_FALSE(in_flight.done());
  EXPECT_FALSE(stopped.HasBeenNotified());  // Stop waits for the in-flight call

  Release();
  ASSERT_TRUE(in_flight.Wait());
  EXPECT_TRUE(in_flight.status().ok()) << in_flight.status().error_message();
  EXPECT_EQ(in_flight.response().member().name(), "members/first");
  std::move(join_stopper).Invoke();
  EXPECT_TRUE(stopped.HasBeenNotified());
  watcher.reset();

  // Stopped for good: new calls fail, and a second Stop is a no-op.
  GetMemberResponse response;
  EXPECT_FALSE(Call("members/after", &response).ok());
  server_->Stop();
}

TEST_F(ServerTest, StopCancelsCallsStillRunningAtTheDrainDeadline) {
  ServerOptions options;
  options.drain_deadline = absl::Milliseconds(200);
  StartServer(2, 16, BlockingHandler(), options);

  PendingCall stuck(*stub_, "members/first");
  ASSERT_TRUE(entered_.WaitForNotificationWithTimeout(kPatience));
  absl::Notification stopped;
  std::thread stopper([&] {
    server_->Stop();
    stopped.Notify();
  });
  absl::Cleanup join_stopper = [&] {
    Release();
    stopper.join();
  };
  // Past the deadline the client is told the call ended (the server cancels it), while
  // the handler is still blocked.
  ASSERT_TRUE(stuck.Wait()) << "the call outlived the drain deadline";
  EXPECT_TRUE(stuck.status().error_code() == grpc::StatusCode::UNAVAILABLE ||
              stuck.status().error_code() == grpc::StatusCode::CANCELLED)
      << stuck.status().error_code() << " " << stuck.status().error_message();
  // Stop still waits for the handler to finish its reactor, so nothing touches the server
  // after Stop returns.
  EXPECT_FALSE(stopped.HasBeenNotified());
  Release();
  EXPECT_TRUE(stopped.WaitForNotificationWithTimeout(kPatience));
}

TEST(ServerStartTest, UnusableAddressIsAnError) {
  WorkerPool pool(1, 1);
  TestOrgService service(pool, ReturnMember);
  ServerOptions options;
  // TEST-NET-1 (RFC 5737): never an address of this machine, so binding fails.
  options.listen_address = "192.0.2.1:0";
  options.allow_plaintext_remote = true;
  auto server = Server::Start(options, {&service});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable) << server.status();
}

TEST(ServerStartTest, PlaintextBeyondLoopbackIsRefusedUnlessAllowed) {
  WorkerPool pool(1, 1);
  TestOrgService service(pool, ReturnMember);
  for (const char* address : {"0.0.0.0:0", "[::]:0", "192.0.2.1:0"}) {
    ServerOptions options;
    options.listen_address = address;
    auto server = Server::Start(options, {&service});
    EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition) << address << ": " << server.status();
    EXPECT_TRUE(absl::StrContains(server.status().message(),
                                  absl::StrCat("refusing to listen in plaintext on ", address,
                                               ", which is not a loopback address")))
        << server.status();
    EXPECT_TRUE(absl::StrContains(server.status().message(), "--allow_plaintext_remote")) << server.status();
  }
  // Allowed explicitly, the wildcard address serves (on a free port).
  ServerOptions options;
  options.listen_address = "0.0.0.0:0";
  options.allow_plaintext_remote = true;
  auto server = Server::Start(options, {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_GT((*server)->port(), 0);
}

}  // namespace
}  // namespace opsteam::rpc
