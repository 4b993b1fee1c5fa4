#pragma once

// The read commands of `opsteam`. Each returns the process exit code: 0 on success, 1 when
// the server said no (the error has been printed to stderr).

#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "tools/opsteam/client.h"

namespace opsteam::cli {

// grpc.health.v1 Check of the whole server. With `wait` > 0, polls until SERVING or until
// `wait` has passed. Prints SERVING, NOT_SERVING (or the status seen); 0 only for SERVING.
int Health(Client& client, absl::Duration wait, std::ostream& out);

// Prints the department tree below `root` ("departments/{id}"; empty = every root) with
// each department's positions.
int Tree(Client& client, const std::string& root, std::ostream& out);

// Prints the resource `name` (departments/, positions/, members/ or assignments/) in
// protobuf text format.
int Get(Client& client, const std::string& name, std::ostream& out);

// Prints the manager and skip-level manager of `member` ("members/{id}").
int Manager(Client& client, const std::string& member, std::ostream& out);

// Prints the organisation (or the subtree of `root`, "departments/{id}") as of the client's
// as_of day as a text-format opsteam.org.v1.OrgChart that `opsteam load` and `apply` accept.
int Export(Client& client, const std::string& root, std::ostream& out);

}  // namespace opsteam::cli
