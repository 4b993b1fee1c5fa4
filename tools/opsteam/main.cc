// opsteam: command-line client of the org service.
//
//   opsteam [flags] health [--wait_seconds N]
//   opsteam [flags] tree [departments/ID]
//   opsteam [flags] get departments/ID | positions/ID | members/ID | assignments/ID
//   opsteam [flags] manager members/ID
//   opsteam [flags] load CHART.textproto
//   opsteam [flags] apply [--dry_run] CHART.textproto
//   opsteam [flags] export [departments/ID] > CHART.textproto
//   opsteam token --secret_file F --subject members/ID [--roles administrator] [--ttl_hours 12]

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "libs/rpc/env.h"
#include "tools/opsteam/chart_loader.h"
#include "tools/opsteam/client.h"
#include "tools/opsteam/commands.h"
#include "tools/opsteam/token.h"

using opsteam::rpc::EnvBool;
using opsteam::rpc::EnvOr;

ABSL_FLAG(std::string, addr, EnvOr("OPSTEAM_ORG_ADDR", "127.0.0.1:50051"),
          "host:port of the org service (env OPSTEAM_ORG_ADDR)");
ABSL_FLAG(int, deadline_ms, 10000, "deadline of each call, in milliseconds");
ABSL_FLAG(std::string, as_of, "", "read the organisation as of this day, YYYY-MM-DD; empty = today");
ABSL_FLAG(int, page_size, 0, "page size of List calls; 0 = the server's default");
ABSL_FLAG(int, wait_seconds, 0, "health: keep asking until SERVING or this many seconds passed");
ABSL_FLAG(bool, dry_run, false, "apply: only plan the changes; nothing is written");

ABSL_FLAG(std::string, token, EnvOr("OPSTEAM_TOKEN", ""),
          "bearer token sent with every call (env OPSTEAM_TOKEN); `opsteam token` mints one for local runs");
ABSL_FLAG(std::string, tls_ca, "", "PEM CAs the server certificate must chain to; turns TLS on");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate chain, for servers that require mTLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_server_name, "", "name the server certificate must carry, instead of the --addr host");
ABSL_FLAG(bool, tls, false, "TLS even without --tls_ca, trusting the default roots");
ABSL_FLAG(bool, allow_plaintext_remote, EnvBool("OPSTEAM_ALLOW_PLAINTEXT_REMOTE", false),
          "plaintext to a non-loopback --addr, where a service mesh encrypts the connection "
          "(env OPSTEAM_ALLOW_PLAINTEXT_REMOTE)");

ABSL_FLAG(std::string, secret_file, "", "token: the HS256 secret file org-service verifies with");
ABSL_FLAG(std::string, subject, "", "token: the caller, members/ID or services/ID");
ABSL_FLAG(std::string, roles, "", "token: comma-separated roles, any of administrator, service");
ABSL_FLAG(int, ttl_hours, 12, "token: hours until the token expires");
ABSL_FLAG(std::string, jwt_issuer, "opsteam", "token: the iss claim (org-service --jwt_issuer)");
ABSL_FLAG(std::string, jwt_audience, "opsteam", "token: the aud claim (org-service --jwt_audience)");

namespace {

constexpr char kUsage[] =
    "opsteam: command-line client of the opsteam org service.\n\n"
    "  opsteam [flags] health [--wait_seconds N]  grpc.health.v1 check; exit 0 only when SERVING\n"
    "  opsteam [flags] tree [departments/ID]      the department tree with each department's positions\n"
    "  opsteam [flags] get NAME                   a department, position, member or assignment\n"
    "  opsteam [flags] manager members/ID         a member's manager and skip-level manager\n"
    "  opsteam [flags] load CHART.textproto       apply a text-format opsteam.org.v1.OrgChart; print the counts\n"
    "  opsteam [flags] apply [--dry_run] CHART.textproto\n"
    "                                             apply a chart (or only plan it) and list every change\n"
    "  opsteam [flags] export [departments/ID]    the organisation (or a subtree) as a chart, on stdout\n"
    "  opsteam token --secret_file F --subject members/ID [--roles administrator] [--ttl_hours 12]\n"
    "                                             mint an HS256 bearer token for a local org-service\n\n"
    "Every call but health needs a bearer token: --token (env OPSTEAM_TOKEN). Reads are open to\n"
    "any caller; changes need the administrator role.\n"
    "Flags: --addr (env OPSTEAM_ORG_ADDR), --token, --deadline_ms, --as_of, --page_size, --dry_run,\n"
    "--tls_ca, --tls_cert, --tls_key, --tls_server_name; --helpfull for all.";

int Usage(const std::string& problem) {
  std::fprintf(stderr, "opsteam: %s\n\n%s\n", problem.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  // positional[0] is the program itself.
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  if (args.empty()) return Usage("no command given");

  const std::string& command = args[0];
  const size_t operands = args.size() - 1;
  if (command == "token") {
    // Needs no server.
    if (operands != 0) return Usage("token takes no arguments, only flags");
    opsteam::cli::TokenOptions token;
    token.secret_file = absl::GetFlag(FLAGS_secret_file);
    token.subject = absl::GetFlag(FLAGS_subject);
    token.roles = absl::StrSplit(absl::GetFlag(FLAGS_roles), ',', absl::SkipWhitespace());
    token.ttl = absl::Hours(absl::GetFlag(FLAGS_ttl_hours));
    token.issuer = absl::GetFlag(FLAGS_jwt_issuer);
    token.audience = absl::GetFlag(FLAGS_jwt_audience);
    return opsteam::cli::Token(token, std::cout);
  }

  const int deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
  if (deadline_ms <= 0) return Usage("--deadline_ms must be positive");
  opsteam::cli::ClientOptions options;
  options.address = absl::GetFlag(FLAGS_addr);
  options.deadline = absl::Milliseconds(deadline_ms);
  options.as_of = absl::GetFlag(FLAGS_as_of);
  options.page_size = absl::GetFlag(FLAGS_page_size);
  options.token = absl::GetFlag(FLAGS_token);
  options.tls.ca_file = absl::GetFlag(FLAGS_tls_ca);
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls.server_name = absl::GetFlag(FLAGS_tls_server_name);
  options.tls.enabled = absl::GetFlag(FLAGS_tls);
  options.tls.allow_plaintext_remote = absl::GetFlag(FLAGS_allow_plaintext_remote);
  absl::StatusOr<opsteam::cli::Client> connected = opsteam::cli::Client::Create(options);
  if (!connected.ok()) {
    std::fprintf(stderr, "opsteam: %s: %s\n", options.address.c_str(),
                 std::string(connected.status().message()).c_str());
    return 2;
  }
  opsteam::cli::Client& client = *connected;

  if (command == "health") {
    if (operands != 0) return Usage("health takes no arguments");
    return opsteam::cli::Health(client, absl::Seconds(absl::GetFlag(FLAGS_wait_seconds)), std::cout);
  }
  if (command == "tree") {
    if (operands > 1) return Usage("tree takes at most one department name");
    return opsteam::cli::Tree(client, operands ? args[1] : "", std::cout);
  }
  if (command == "get") {
    if (operands != 1) return Usage("get takes one resource name");
    return opsteam::cli::Get(client, args[1], std::cout);
  }
  if (command == "manager") {
    if (operands != 1) return Usage("manager takes one member name, members/ID");
    return opsteam::cli::Manager(client, args[1], std::cout);
  }
  if (command == "load") {
    if (operands != 1) return Usage("load takes one chart file");
    return opsteam::cli::Load(client, args[1], std::cout);
  }
  if (command == "apply") {
    if (operands != 1) return Usage("apply takes one chart file");
    return opsteam::cli::Apply(client, args[1], absl::GetFlag(FLAGS_dry_run), std::cout);
  }
  if (command == "export") {
    if (operands > 1) return Usage("export takes at most one department name");
    return opsteam::cli::Export(client, operands ? args[1] : "", std::cout);
  }
  return Usage(absl::StrCat("unknown command \"", command, "\""));
}
