#pragma once

// Reading a file that a flag names (certificates, keys, secrets), with errors that say which
// setting and which file: "--tls_cert /etc/opsteam/org.crt: cannot read: No such file ...".

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace opsteam::rpc {

// The whole content of `path`; INVALID_ARGUMENT naming `flag` and the file when unreadable.
absl::StatusOr<std::string> ReadFlagFile(absl::string_view flag, const std::string& path);

}  // namespace opsteam::rpc
