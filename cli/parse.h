// CRIU-compatible command-line parsing, as a pure function: argument words
// and config file texts in, Options or one clear error out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"
#include "engine/options/options.h"

namespace cryo {

// A config file's name (for errors) and text.
struct ConfigText {
  std::string name;
  std::string text;
};

// The config files to read, in order, before the command line: the default
// ones unless --no-default-config, $CRIU_CONFIG_FILE, then every --config.
std::vector<std::string> ConfigFilesFor(const std::vector<std::string>& args,
                                        const char* env_config, const char* home);

// Parses args (without argv[0]) on top of the config files' options.
// Errors read "dump: unknown option --frobnicate" and the like.
Result<Options> ParseCommandLine(const std::vector<std::string>& args,
                                 const std::vector<ConfigText>& configs);

// Checks what each command needs (a pid for dump, ...).
Result<> ValidateOptions(const Options& o);

std::string UsageText();

}  // namespace cryo
