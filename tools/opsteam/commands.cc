#include "tools/opsteam/commands.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "google/protobuf/text_format.h"

namespace opsteam::cli {
namespace {

namespace v1 = ::opsteam::org::v1;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

std::string KindLabel(v1::DepartmentKind kind) {
  return std::string(absl::StripPrefix(v1::DepartmentKind_Name(kind), "DEPARTMENT_KIND_"));
}

std::string GradeLabel(v1::Grade grade) {
  return std::string(absl::StripPrefix(v1::Grade_Name(grade), "GRADE_"));
}

// Every child of `parent` ("" = the roots), across all pages.
absl::Status ListChildren(Client& client, const std::string& parent,
                          std::vector<v1::Department>* out) {
  v1::ListDepartmentsRequest req;
  req.set_parent(parent);
  req.set_as_of(client.options().as_of);
  req.set_page_size(client.options().page_size);
  do {
    v1::ListDepartmentsResponse resp;
    absl::Status s = client.Run(
        [&](grpc::ClientContext* ctx) { return client.org().ListDepartments(ctx, req, &resp); });
    if (!s.ok()) return s;
    for (auto& d : *resp.mutable_departments()) out->push_back(std::move(d));
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  return absl::OkStatus();
}

// The positions of `department` itself (not of its sub-departments), across all pages.
absl::Status ListPositionsOf(Client& client, const std::string& department,
                             std::vector<v1::Position>* out) {
  v1::ListPositionsRequest req;
  req.set_department(department);
  req.set_as_of(client.options().as_of);
  req.set_page_size(client.options().page_size);
  do {
    v1::ListPositionsResponse resp;
    absl::Status s = client.Run(
        [&](grpc::ClientContext* ctx) { return client.org().ListPositions(ctx, req, &resp); });
    if (!s.ok()) return s;
    for (auto& p : *resp.mutable_positions()) out->push_back(std::move(p));
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  return absl::OkStatus();
}

struct TreeCounts {
  int departments = 0;
  int positions = 0;
};

absl::Status PrintDepartment(Client& client, const v1::Department& d, int depth,
                             std::ostream& out, TreeCounts* counts) {
  std::vector<v1::Position> positions;
  if (absl::Status s = ListPositionsOf(client, d.name(), &positions); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("listing positions of ", d.name(), ": ", s.message()));
  }
  std::string lead = "no lead";
  if (!d.lead_position().empty()) {
    lead = absl::StrCat("lead ", d.lead_position());
    for (const auto& p : positions) {
      if (p.name() == d.lead_position()) lead = absl::StrCat("lead ", p.title());
    }
  }
  const std::string indent(static_cast<size_t>(depth) * 2, ' ');
  out << indent << d.display_name() << " [" << d.name() << "] " << KindLabel(d.kind()) << ", "
      << lead << "\n";
  // The lead first, then the others in the server's order.
  std::stable_partition(positions.begin(), positions.end(),
                        [&](const v1::Position& p) { return p.name() == d.lead_position(); });
  for (const auto& p : positions) {
    out << indent << "  - " << p.title() << " [" << p.name() << "] " << GradeLabel(p.grade())
        << " " << p.filled() << "/" << p.headcount() << "\n";
  }
  ++counts->departments;
  counts->positions += static_cast<int>(positions.size());

  std::vector<v1::Department> children;
  if (absl::Status s = ListChildren(client, d.name(), &children); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("listing children of ", d.name(), ": ", s.message()));
  }
  for (const auto& child : children) {
    if (absl::Status s = PrintDepartment(client, child, depth + 1, out, counts); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string TextOf(const google::protobuf::Message& message) {
  google::protobuf::TextFormat::Printer printer;
  printer.SetUseUtf8StringEscaping(true);  // display names are Chinese: print them as is
  std::string text;
  printer.PrintToString(message, &text);
  return text;
}

std::string LinkLabel(const v1::ReportingLink& link) {
  if (link.member().empty()) return "(none)";
  return absl::StrCat(link.display_name(), " [", link.member(), "] via ", link.position());
}

}  // namespace

int Health(Client& client, absl::Duration wait, std::ostream& out) {
  const absl::Time give_up = absl::Now() + wait;
  absl::Duration backoff = absl::Milliseconds(100);
  HealthCheckRequest req;  // service "" = the server as a whole
  while (true) {
    HealthCheckResponse resp;
    const absl::Duration left = give_up - absl::Now();
    const bool waiting = left > absl::ZeroDuration();
    // A waiting call is what drives the channel's connection attempts (a TLS handshake takes
    // several round trips), so while time is left each try waits for the connection, up to a
    // second. The last try fails at once with the connection error, which is what to report.
    absl::Status s = client.Run(
        [&](grpc::ClientContext* ctx) {
          ctx->set_wait_for_ready(waiting);
          return client.health().Check(ctx, req, &resp);
        },
        waiting ? std::clamp(left, absl::Milliseconds(200), absl::Seconds(1)) : absl::InfiniteDuration());
    if (s.ok() && resp.status() == HealthCheckResponse::SERVING) {
      out << "SERVING\n";
      return 0;
    }
    if (!waiting) {
      if (s.ok()) {
        out << HealthCheckResponse::ServingStatus_Name(resp.status()) << "\n";
      } else {
        PrintError(absl::StrCat("health of ", client.options().address), s);
      }
      return 1;
    }
    // Not connected yet: the try itself waited. Connected but not serving: ask again soon.
    if (s.code() != absl::StatusCode::kDeadlineExceeded) {
      absl::SleepFor(std::min(backoff, give_up - absl::Now()));
      backoff = std::min(backoff * 2, absl::Seconds(1));
    }
  }
}

int Tree(Client& client, const std::string& root, std::ostream& out) {
  std::vector<v1::Department> tops;
  if (root.empty()) {
    if (absl::Status s = ListChildren(client, "", &tops); !s.ok()) {
      PrintError("listing root departments", s);
      return 1;
    }
  } else {
    v1::GetDepartmentRequest req;
    req.set_name(root);
    req.set_as_of(client.options().as_of);
    v1::GetDepartmentResponse resp;
    absl::Status s = client.Run(
        [&](grpc::ClientContext* ctx) { return client.org().GetDepartment(ctx, req, &resp); });
    if (!s.ok()) {
      PrintError(absl::StrCat("getting ", root), s);
      return 1;
    }
    tops.push_back(std::move(*resp.mutable_department()));
  }
  TreeCounts counts;
  for (const auto& d : tops) {
    if (absl::Status s = PrintDepartment(client, d, 0, out, &counts); !s.ok()) {
      PrintError("tree", s);
      return 1;
    }
  }
  out << counts.departments << " departments, " << counts.positions << " positions";
  if (!client.options().as_of.empty()) out << " as of " << client.options().as_of;
  out << "\n";
  return 0;
}

int Get(Client& client, const std::string& name, std::ostream& out) {
  const std::string& as_of = client.options().as_of;
  absl::Status s;
  std::string text;
  if (absl::StartsWith(name, "departments/")) {
    v1::GetDepartmentRequest req;
    req.set_name(name);
    req.set_as_of(as_of);
    v1::GetDepartmentResponse resp;
    s = client.Run([&](grpc::ClientContext* ctx) { return client.org().GetDepartment(ctx, req, &resp); });
    text = TextOf(resp.department());
  } else if (absl::StartsWith(name, "positions/")) {
    v1::GetPositionRequest req;
    req.set_name(name);
    req.set_as_of(as_of);
    v1::GetPositionResponse resp;
    s = client.Run([&](grpc::ClientContext* ctx) { return client.org().GetPosition(ctx, req, &resp); });
    text = TextOf(resp.position());
  } else if (absl::StartsWith(name, "members/")) {
    v1::GetMemberRequest req;
    req.set_name(name);
    v1::GetMemberResponse resp;
    s = client.Run([&](grpc::ClientContext* ctx) { return client.org().GetMember(ctx, req, &resp); });
    text = TextOf(resp.member());
  } else if (absl::StartsWith(name, "assignments/")) {
    v1::GetAssignmentRequest req;
    req.set_name(name);
    v1::GetAssignmentResponse resp;
    s = client.Run([&](grpc::ClientContext* ctx) { return client.org().GetAssignment(ctx, req, &resp); });
    text = TextOf(resp.assignment());
  } else {
    PrintError("get", absl::InvalidArgumentError(absl::StrCat(
                          "\"", name, "\" is not departments/ID, positions/ID, members/ID or assignments/ID")));
    return 1;
  }
  if (!s.ok()) {
    PrintError(absl::StrCat("getting ", name), s);
    return 1;
  }
  out << text;
  return 0;
}

int Manager(Client& client, const std::string& member, std::ostream& out) {
  v1::GetManagerRequest req;
  req.set_member(member);
  req.set_as_of(client.options().as_of);
  v1::GetManagerResponse resp;
  absl::Status s =
      client.Run([&](grpc::ClientContext* ctx) { return client.org().GetManager(ctx, req, &resp); });
  if (!s.ok()) {
    PrintError(absl::StrCat("manager of ", member), s);
    return 1;
  }
  out << member << "\n";
  out << "  manager     " << LinkLabel(resp.manager()) << "\n";
  out << "  skip-level  " << LinkLabel(resp.skip_level_manager()) << "\n";
  return 0;
}

int Export(Client& client, const std::string& root, std::ostream& out) {
  v1::ExportOrgChartRequest req;
  req.set_root(root);
  req.set_as_of(client.options().as_of);
  v1::ExportOrgChartResponse resp;
  absl::Status s =
      client.Run([&](grpc::ClientContext* ctx) { return client.org().ExportOrgChart(ctx, req, &resp); });
  if (!s.ok()) {
    PrintError(absl::StrCat("export ", root.empty() ? "of the organisation" : root), s);
    return 1;
  }
  out << "# proto-file: opsteam/org/v1/chart.proto\n# proto-message: opsteam.org.v1.OrgChart\n"
      << "# Exported from " << client.options().address << (root.empty() ? "" : absl::StrCat(", ", root))
      << " as of " << resp.chart().effective_date() << ".\n\n"
      << TextOf(resp.chart());
  return 0;
}

}  // namespace opsteam::cli
