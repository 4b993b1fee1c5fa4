#include "tools/opsteam/chart_loader.h"

#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace opsteam::cli {
namespace {

namespace v1 = ::opsteam::org::v1;

constexpr size_t kMaxIdLength = 63;         // [a-z][a-z0-9-]{0,62}
constexpr size_t kMaxRequestIdLength = 64;  // [A-Za-z0-9_-]{0,64}

uint32_t Fnv1a(absl::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

// `s` itself when it fits in `max` characters, else a prefix plus a hash of the whole, so
// distinct long inputs stay distinct and the same input always gives the same result.
std::string Shorten(absl::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  return absl::StrCat(s.substr(0, max - 9), "-", absl::Hex(Fnv1a(s), absl::kZeroPad8));
}

std::string Name(absl::string_view collection, absl::string_view id) {
  return absl::StrCat(collection, "/", id);
}

// Prefixes the message with what was being done, keeping the error details.
absl::Status Annotate(const absl::Status& s, absl::string_view what) {
  absl::Status out(s.code(), absl::StrCat(what, ": ", s.message()));
  s.ForEachPayload([&](absl::string_view url, const absl::Cord& value) { out.SetPayload(url, value); });
  return out;
}

bool Retryable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable || s.code() == absl::StatusCode::kAborted ||
         s.code() == absl::StatusCode::kDeadlineExceeded ||
         s.code() == absl::StatusCode::kResourceExhausted;
}

// A write; transient failures are retried, which is safe because every write of the loader
// carries a request_id and a repeat returns the first result.
template <typename Call>
absl::Status Write(Client& client, Call&& call) {
  absl::Duration backoff = absl::Milliseconds(200);
  for (int attempt = 1;; ++attempt) {
    absl::Status s = client.Run(call);
    if (s.ok() || attempt == 3 || !Retryable(s)) return s;
    absl::SleepFor(backoff);
    backoff *= 2;
  }
}

// Counts `name` as present when `find` finds it (OK; NOT_FOUND = absent), else runs
// `create`; ALREADY_EXISTS from `create` also means present.
template <typename Find, typename Create>
absl::Status Ensure(const std::string& name, Find&& find, Create&& create, LoadCounts* counts) {
  absl::Status found = find();
  if (found.ok()) {
    ++counts->present;
    return absl::OkStatus();
  }
  if (found.code() != absl::StatusCode::kNotFound) return Annotate(found, absl::StrCat("reading ", name));
  absl::Status created = create();
  if (created.ok()) {
    ++counts->created;
  } else if (created.code() == absl::StatusCode::kAlreadyExists) {
    ++counts->present;
  } else {
    return Annotate(created, absl::StrCat("creating ", name));
  }
  return absl::OkStatus();
}

struct FlatDepartment {
  const v1::ChartDepartment* department;
  std::string parent_id;  // empty for a root
};

void Flatten(const v1::ChartDepartment& d, const std::string& parent_id,
             std::vector<FlatDepartment>* out) {
  out->push_back({&d, parent_id});
  for (const auto& child : d.children()) Flatten(child, d.id(), out);
}

// The chart's ids must be unique, or "already present" would hide a mistake in the file.
absl::Status CheckUniqueIds(const v1::OrgChart& chart, const std::vector<FlatDepartment>& departments) {
  std::set<std::string> department_ids, position_ids, member_ids;
  for (const auto& [d, parent] : departments) {
    if (!department_ids.insert(d->id()).second) {
      return absl::InvalidArgumentError(absl::StrCat("department id \"", d->id(), "\" appears twice"));
    }
    for (const auto& p : d->positions()) {
      if (!position_ids.insert(p.id()).second) {
        return absl::InvalidArgumentError(absl::StrCat("position id \"", p.id(), "\" appears twice"));
      }
    }
  }
  for (const auto& m : chart.members()) {
    if (!member_ids.insert(m.id()).second) {
      return absl::InvalidArgumentError(absl::StrCat("member id \"", m.id(), "\" appears twice"));
    }
  }
  return absl::OkStatus();
}

// One load: the chart's effective date and the calls it makes.
class Loader {
 public:
  Loader(Client& client, const v1::OrgChart& chart) : client_(client), chart_(chart) {}

  absl::Status Run(LoadSummary* summary) {
    std::vector<FlatDepartment> departments;
    for (const auto& d : chart_.departments()) Flatten(d, "", &departments);
    if (absl::Status s = CheckUniqueIds(chart_, departments); !s.ok()) return s;

    // Top-down, so every parent exists before its children.
    for (const auto& [d, parent] : departments) {
      if (absl::Status s = EnsureDepartment(*d, parent, &summary->departments); !s.ok()) return s;
    }
    // Positions first without their reporting lines: a line may point at a position that
    // comes later in the chart.
    for (const auto& [d, parent] : departments) {
      for (const auto& p : d->positions()) {
        if (absl::Status s = EnsurePosition(*d, p, &summary->positions); !s.ok()) return s;
      }
    }
    for (const auto& [d, parent] : departments) {
      for (const auto& p : d->positions()) {
        if (p.reports_to_id().empty()) continue;
        if (absl::Status s = EnsureReportsTo(p, &summary->reports_to); !s.ok()) return s;
      }
    }
    for (const auto& [d, parent] : departments) {
      if (d->lead_position_id().empty()) continue;
      if (absl::Status s = EnsureLead(*d, &summary->leads); !s.ok()) return s;
    }
    for (const auto& m : chart_.members()) {
      if (absl::Status s = EnsureMember(m, &summary->members); !s.ok()) return s;
    }
    for (const auto& m : chart_.members()) {
      for (const auto& a : m.assignments()) {
        if (absl::Status s = EnsureAssignment(m, a, &summary->assignments); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

 private:
  const std::string& date() const { return chart_.effective_date(); }

  absl::StatusOr<v1::Department> GetDepartment(const std::string& name) {
    v1::GetDepartmentRequest req;
    req.set_name(name);
    req.set_as_of(date());
    v1::GetDepartmentResponse resp;
    absl::Status s = client_.Run(
        [&](grpc::ClientContext* ctx) { return client_.org().GetDepartment(ctx, req, &resp); });
    if (!s.ok()) return s;
    return std::move(*resp.mutable_department());
  }

  absl::StatusOr<v1::Position> GetPosition(const std::string& name) {
    v1::GetPositionRequest req;
    req.set_name(name);
    req.set_as_of(date());
    v1::GetPositionResponse resp;
    absl::Status s = client_.Run(
        [&](grpc::ClientContext* ctx) { return client_.org().GetPosition(ctx, req, &resp); });
    if (!s.ok()) return s;
    return std::move(*resp.mutable_position());
  }

  absl::Status EnsureDepartment(const v1::ChartDepartment& d, const std::string& parent_id,
                                LoadCounts* counts) {
    const std::string name = Name("departments", d.id());
    auto find = [&] { return GetDepartment(name).status(); };
    auto create = [&] {
      v1::CreateDepartmentRequest req;
      auto* dept = req.mutable_department();
      dept->set_display_name(d.display_name());
      dept->set_kind(d.kind());
      dept->set_description(d.description());
      if (!parent_id.empty()) dept->set_parent(Name("departments", parent_id));
      req.set_department_id(d.id());
      req.set_effective_date(date());
      req.set_request_id(LoadRequestId("department", d.id()));
      v1::CreateDepartmentResponse resp;
      return Write(client_, [&](grpc::ClientContext* ctx) {
        return client_.org().CreateDepartment(ctx, req, &resp);
      });
    };
    return Ensure(name, find, create, counts);
  }

  absl::Status EnsurePosition(const v1::ChartDepartment& d, const v1::ChartPosition& p,
                              LoadCounts* counts) {
    const std::string name = Name("positions", p.id());
    auto find = [&] { return GetPosition(name).status(); };
    auto create = [&] {
      v1::CreatePositionRequest req;
      auto* pos = req.mutable_position();
      pos->set_department(Name("departments", d.id()));
      pos->set_title(p.title());
      pos->set_grade(p.grade());
      *pos->mutable_responsibilities() = p.responsibilities();
      *pos->mutable_requirements() = p.requirements();
      *pos->mutable_work_standards() = p.work_standards();
      *pos->mutable_authorities() = p.authorities();
      pos->set_headcount(p.headcount());
      pos->set_introduction_phase(p.introduction_phase());
      req.set_position_id(p.id());
      req.set_effective_date(date());
      req.set_request_id(LoadRequestId("position", p.id()));
      v1::CreatePositionResponse resp;
      return Write(client_, [&](grpc::ClientContext* ctx) {
        return client_.org().CreatePosition(ctx, req, &resp);
      });
    };
    return Ensure(name, find, create, counts);
  }

  absl::Status EnsureReportsTo(const v1::ChartPosition& p, LoadCounts* counts) {
    const std::string name = Name("positions", p.id());
    const std::string target = Name("positions", p.reports_to_id());
    auto current = GetPosition(name);
    if (!current.ok()) return Annotate(current.status(), absl::StrCat("reading ", name));
    if (current->reports_to() == target) {
      ++counts->present;
      return absl::OkStatus();
    }
    v1::UpdatePositionRequest req;
    req.mutable_position()->set_name(name);
    req.mutable_position()->set_reports_to(target);
    req.mutable_update_mask()->add_paths("reports_to");
    req.set_effective_date(date());
    req.set_request_id(LoadRequestId("reports-to", p.id()));
    v1::UpdatePositionResponse resp;
    absl::Status s = Write(client_, [&](grpc::ClientContext* ctx) {
      return client_.org().UpdatePosition(ctx, req, &resp);
    });
    if (!s.ok()) return Annotate(s, absl::StrCat("setting reports_to of ", name, " to ", target));
    ++counts->created;
    return absl::OkStatus();
  }

  absl::Status EnsureLead(const v1::ChartDepartment& d, LoadCounts* counts) {
    const std::string name = Name("departments", d.id());
    const std::string lead = Name("positions", d.lead_position_id());
    auto current = GetDepartment(name);
    if (!current.ok()) return Annotate(current.status(), absl::StrCat("reading ", name));
    if (current->lead_position() == lead) {
      ++counts->present;
      return absl::OkStatus();
    }
    v1::UpdateDepartmentRequest req;
    req.mutable_department()->set_name(name);
    req.mutable_department()->set_lead_position(lead);
    req.mutable_update_mask()->add_paths("lead_position");
    req.set_effective_date(date());
    req.set_request_id(LoadRequestId("lead", d.id()));
    v1::UpdateDepartmentResponse resp;
    absl::Status s = Write(client_, [&](grpc::ClientContext* ctx) {
      return client_.org().UpdateDepartment(ctx, req, &resp);
    });
    if (!s.ok()) return Annotate(s, absl::StrCat("setting the lead of ", name, " to ", lead));
    ++counts->created;
    return absl::OkStatus();
  }

  absl::Status EnsureMember(const v1::ChartMember& m, LoadCounts* counts) {
    const std::string name = Name("members", m.id());
    auto find = [&] {
      v1::GetMemberRequest req;
      req.set_name(name);
      v1::GetMemberResponse resp;
      return client_.Run([&](grpc::ClientContext* ctx) { return client_.org().GetMember(ctx, req, &resp); });
    };
    auto create = [&] {
      v1::CreateMemberRequest req;
      auto* member = req.mutable_member();
      member->set_display_name(m.display_name());
      *member->mutable_development_directions() = m.development_directions();
      member->set_employment_start_date(m.employment_start_date());
      req.set_member_id(m.id());
      req.set_request_id(LoadRequestId("member", m.id()));
      v1::CreateMemberResponse resp;
      return Write(client_, [&](grpc::ClientContext* ctx) {
        return client_.org().CreateMember(ctx, req, &resp);
      });
    };
    return Ensure(name, find, create, counts);
  }

  // The assignment's own start date, else the chart's; never before the member was hired.
  std::string StartDate(const v1::ChartMember& m, const v1::ChartAssignment& a) const {
    std::string start = a.start_date().empty() ? date() : a.start_date();
    // An empty date means today on the server; compare against today to decide, but keep
    // it empty so a repeated request stays identical.
    const std::string effective =
        start.empty() ? absl::FormatCivilTime(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone())) : start;
    // "YYYY-MM-DD" strings order like the dates they name.
    if (m.employment_start_date() > effective) start = m.employment_start_date();
    return start;
  }

  absl::Status EnsureAssignment(const v1::ChartMember& m, const v1::ChartAssignment& a,
                                LoadCounts* counts) {
    const std::string id = AssignmentId(m.id(), a.position_id());
    const std::string name = Name("assignments", id);
    auto find = [&] {
      v1::GetAssignmentRequest req;
      req.set_name(name);
      v1::GetAssignmentResponse resp;
      return client_.Run(
          [&](grpc::ClientContext* ctx) { return client_.org().GetAssignment(ctx, req, &resp); });
    };
    auto create = [&] {
      v1::AssignMemberRequest req;
      req.set_member(Name("members", m.id()));
      req.set_position(Name("positions", a.position_id()));
      req.set_kind(a.kind());
      req.set_start_date(StartDate(m, a));
      req.set_assignment_id(id);
      req.set_request_id(LoadRequestId("assignment", id));
      v1::AssignMemberResponse resp;
      return Write(client_, [&](grpc::ClientContext* ctx) {
        return client_.org().AssignMember(ctx, req, &resp);
      });
    };
    return Ensure(name, find, create, counts);
  }

  Client& client_;
  const v1::OrgChart& chart_;
};

class ParseErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit ParseErrors(std::string path) : path_(std::move(path)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    if (!text_.empty()) text_ += "; ";
    absl::StrAppend(&text_, path_, ":", line + 1, ":", column + 1, ": ", message);
  }
  const std::string& text() const { return text_; }

 private:
  std::string path_;
  std::string text_;
};

}  // namespace

std::string AssignmentId(absl::string_view member_id, absl::string_view position_id) {
  return Shorten(absl::StrCat(member_id, "-", position_id), kMaxIdLength);
}

std::string LoadRequestId(absl::string_view kind, absl::string_view id) {
  return Shorten(absl::StrCat("load-", kind, "-", id), kMaxRequestIdLength);
}

absl::StatusOr<v1::OrgChart> ReadChart(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream text;
  text << in.rdbuf();
  v1::OrgChart chart;
  google::protobuf::TextFormat::Parser parser;
  ParseErrors errors(path);
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text.str(), &chart)) {
    return absl::InvalidArgumentError(errors.text().empty() ? absl::StrCat(path, ": not a text-format OrgChart")
                                                            : errors.text());
  }
  return chart;
}

absl::Status LoadChart(Client& client, const v1::OrgChart& chart, LoadSummary* summary) {
  return Loader(client, chart).Run(summary);
}

int Load(Client& client, const std::string& path, std::ostream& out) {
  auto chart = ReadChart(path);
  if (!chart.ok()) {
    PrintError("load", chart.status());
    return 1;
  }
  LoadSummary summary;
  if (absl::Status s = LoadChart(client, *chart, &summary); !s.ok()) {
    PrintError(absl::StrCat("load ", path), s);
    return 1;
  }
  out << "loaded " << (chart->title().empty() ? "chart" : chart->title()) << " from " << path;
  if (!chart->effective_date().empty()) out << " (effective " << chart->effective_date() << ")";
  out << "\n" << absl::StrFormat("  %-12s %8s %16s\n", "", "created", "already present");
  const std::pair<const char*, const LoadCounts*> rows[] = {
      {"departments", &summary.departments}, {"positions", &summary.positions},
      {"reports-to", &summary.reports_to},   {"leads", &summary.leads},
      {"members", &summary.members},         {"assignments", &summary.assignments},
  };
  int created = 0;
  for (const auto& [label, counts] : rows) {
    out << absl::StrFormat("  %-12s %8d %16d\n", label, counts->created, counts->present);
    created += counts->created;
  }
  if (created == 0) out << "  nothing to do: everything was already there\n";
  return 0;
}

}  // namespace opsteam::cli
