// Protobuf messages as crit prints them (pycriu's pb2dict): set fields in
// number order, enums by name, bytes in base64. "pretty" adds crit's
// readable forms: hex numbers, flag names, "major:minor" devices, IP
// addresses, task and socket state names.
#pragma once

#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

namespace cryo {

using OrderedJson = nlohmann::ordered_json;

OrderedJson MessageToJson(const google::protobuf::Message& m, bool pretty);

// Python's base64.encodebytes: lines of 76 characters, each ending "\n".
std::string Base64Lines(std::string_view bytes);

}  // namespace cryo
