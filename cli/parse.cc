#include "cli/parse.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <span>

namespace cryo {
namespace {

enum class Arg { kNone, kRequired, kOptional };

using Apply = Result<> (*)(Options&, std::optional<std::string_view> value, bool negated);

struct Spec {
  std::string_view name;  // long name, without "--"
  char short_name;        // 0 when none
  Arg arg;
  bool negatable;  // --no-NAME accepted
  Apply apply;
};

template <typename T>
Result<T> Number(std::string_view s, std::string_view opt) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty())
    return MakeError(EINVAL, "--{}: '{}' is not a number", opt, s);
  return v;
}

#define FLAG(field) [](Options& o, std::optional<std::string_view>, bool neg) -> Result<> { o.field = !neg; return {}; }
#define STRING(field) [](Options& o, std::optional<std::string_view> v, bool) -> Result<> { o.field = std::string(*v); return {}; }
#define APPEND(field) [](Options& o, std::optional<std::string_view> v, bool) -> Result<> { o.field.emplace_back(*v); return {}; }
#define IGNORED [](Options&, std::optional<std::string_view>, bool) -> Result<> { return {}; }

const Spec kSpecs[] = {
    {"tree", 't', Arg::kRequired, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       int pid = CRYO_TRY(Number<int>(*v, "tree"));
       if (pid <= 0) return MakeError(EINVAL, "--tree: '{}' is not a valid pid", *v);
       o.pid = pid;
       return {};
     }},
    {"images-dir", 'D', Arg::kRequired, false, STRING(images_dir)},
    {"work-dir", 'W', Arg::kRequired, false, STRING(work_dir)},
    {"log-file", 'o', Arg::kRequired, false, STRING(log_file)},
    {"verbosity", 'v', Arg::kOptional, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       if (!v) {
         o.log_level++;
         return {};
       }
       // As CRIU's getopt sees it: -vvv arrives as the value "vv"; -v4 as
       // "4"; anything else is read as atoi would ("-verbosity=0" is -v with
       // the value "erbosity=0", level 0).
       if (v->front() == 'v') {
         o.log_level += 1 + static_cast<int>(v->size());
       } else {
         int level = 0;
         std::from_chars(v->data(), v->data() + v->size(), level);
         o.log_level = level;
       }
       o.log_level = std::clamp(o.log_level, 0, 4);
       return {};
     }},
    {"log-pid", 0, Arg::kNone, true, FLAG(log_pid)},
    {"display-stats", 0, Arg::kNone, true, FLAG(display_stats)},
    {"pidfile", 0, Arg::kRequired, false, STRING(pidfile)},
    {"config", 0, Arg::kRequired, false, APPEND(config_files)},
    {"no-default-config", 0, Arg::kNone, false, FLAG(no_default_config)},
    {"json", 0, Arg::kNone, true, FLAG(json)},
    {"pretty", 0, Arg::kNone, true, FLAG(pretty)},
    {"leave-running", 'R', Arg::kNone, true, FLAG(leave_running)},
    {"leave-stopped", 's', Arg::kNone, true, FLAG(leave_stopped)},
    {"shell-job", 'j', Arg::kNone, true, FLAG(shell_job)},
    {"ext-unix-sk", 'x', Arg::kOptional, true,
     [](Options& o, std::optional<std::string_view> v, bool neg) -> Result<> {
       o.ext_unix_sk = !neg;
       if (v) o.unix_sk_ino.push_back(CRYO_TRY(Number<uint32_t>(*v, "ext-unix-sk")));
       return {};
     }},
    {"tcp-established", 0, Arg::kNone, true, FLAG(tcp_established)},
    {"tcp-close", 0, Arg::kNone, true, FLAG(tcp_close)},
    {"skip-in-flight", 0, Arg::kNone, true, FLAG(tcp_skip_in_flight)},
    {"file-locks", 'l', Arg::kNone, true, FLAG(file_locks)},
    {"link-remap", 0, Arg::kNone, true, FLAG(link_remap)},
    {"evasive-devices", 0, Arg::kNone, true, FLAG(evasive_devices)},
    {"force-irmap", 0, Arg::kNone, true, FLAG(force_irmap)},
    {"irmap-scan-path", 0, Arg::kRequired, false, APPEND(irmap_scan_paths)},
    {"ghost-limit", 0, Arg::kRequired, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       // A size with an optional K/M/G suffix, as CRIU takes it.
       std::string_view s = *v;
       uint64_t mult = 1;
       if (!s.empty() && std::string_view("KkMmGg").find(s.back()) != std::string_view::npos) {
         char c = static_cast<char>(s.back() | 0x20);
         mult = c == 'k' ? 1u << 10 : c == 'm' ? 1u << 20 : 1u << 30;
         s.remove_suffix(1);
       }
       o.ghost_limit = CRYO_TRY(Number<uint64_t>(s, "ghost-limit")) * mult;
       return {};
     }},
    {"ghost-fiemap", 0, Arg::kNone, true, FLAG(ghost_fiemap)},
    {"track-mem", 0, Arg::kNone, true, FLAG(track_mem)},
    {"prev-images-dir", 0, Arg::kRequired, false, STRING(prev_images_dir)},
    {"auto-dedup", 0, Arg::kNone, true, FLAG(auto_dedup)},
    {"lazy-pages", 0, Arg::kNone, true, FLAG(lazy_pages)},
    {"pre-dump-mode", 0, Arg::kRequired, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       if (*v == "splice") o.pre_dump_mode = PreDumpMode::kSplice;
       else if (*v == "read") o.pre_dump_mode = PreDumpMode::kRead;
       else return MakeError(EINVAL, "--pre-dump-mode '{}': want splice or read", *v);
       return {};
     }},
    {"timeout", 0, Arg::kRequired, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       o.timeout = CRYO_TRY(Number<uint32_t>(*v, "timeout"));
       return {};
     }},
    {"freeze-cgroup", 0, Arg::kRequired, false, STRING(freeze_cgroup)},
    {"external", 0, Arg::kRequired, false, APPEND(external)},
    {"skip-mnt", 0, Arg::kRequired, false, APPEND(skip_mnt)},
    {"enable-fs", 0, Arg::kRequired, false, APPEND(enable_fs)},
    {"enable-external-sharing", 0, Arg::kNone, true, FLAG(ext_sharing)},
    {"enable-external-masters", 0, Arg::kNone, true, FLAG(ext_masters)},
    {"ext-mount-map", 'M', Arg::kRequired, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       ExtMountMap m = CRYO_TRY(ParseExtMountMap(*v));
       if (m.key == "auto") o.auto_ext_mnt = true;
       else o.ext_mnt.push_back(std::move(m));
       return {};
     }},
    {"network-lock", 0, Arg::kRequired, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       o.network_lock = CRYO_TRY(ParseNetworkLock(*v));
       return {};
     }},
    {"action-script", 0, Arg::kRequired, false, APPEND(action_scripts)},
    {"exec-cmd", 0, Arg::kNone, true, IGNORED},
    {"restore-detached", 'd', Arg::kNone, true,
     [](Options& o, std::optional<std::string_view>, bool neg) -> Result<> {
       // -d means "detach" for restore and "daemonize" for the servers.
       o.restore_detached = !neg;
       o.daemon = !neg;
       return {};
     }},
    {"daemon", 0, Arg::kNone, true, FLAG(daemon)},
    {"restore-sibling", 'S', Arg::kNone, true, FLAG(restore_sibling)},
    {"new-pidns", 0, Arg::kNone, true, FLAG(new_pidns)},
    {"root", 'r', Arg::kRequired, false, STRING(root)},
    {"inherit-fd", 0, Arg::kRequired, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       o.inherit_fd.push_back(CRYO_TRY(ParseInheritFd(*v)));
       return {};
     }},
    {"join-ns", 'J', Arg::kRequired, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       o.join_ns.push_back(CRYO_TRY(ParseJoinNs(*v)));
       return {};
     }},
    {"veth-pair", 0, Arg::kRequired, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       o.veths.push_back(CRYO_TRY(ParseVethPair(*v)));
       return {};
     }},
    {"empty-ns", 0, Arg::kRequired, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       o.empty_ns |= CRYO_TRY(ParseEmptyNs(*v));
       return {};
     }},
    {"lsm-profile", 0, Arg::kRequired, false, STRING(lsm_profile)},
    {"lsm-mount-context", 0, Arg::kRequired, false, STRING(lsm_mount_context)},
    {"weak-sysctls", 0, Arg::kNone, true, FLAG(weak_sysctls)},
    {"cpu-cap", 0, Arg::kOptional, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       // Capability names (fpu, cpu, ins, none, all); recorded, not used yet.
       o.cpu_cap = (v && *v == "none") ? 0 : 0xffffffff;
       return {};
     }},
    {"mntns-compat-mode", 0, Arg::kNone, true, FLAG(mntns_compat_mode)},
    {"orphan-pts-master", 0, Arg::kNone, true, FLAG(orphan_pts_master)},
    {"status-fd", 0, Arg::kRequired, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       o.status_fd = CRYO_TRY(Number<int>(*v, "status-fd"));
       return {};
     }},
    {"unprivileged", 0, Arg::kNone, true, FLAG(unprivileged)},
    {"skip-file-rwx-check", 0, Arg::kNone, true, FLAG(skip_file_rwx_check)},
    {"manage-cgroups", 0, Arg::kOptional, true,
     [](Options& o, std::optional<std::string_view> v, bool neg) -> Result<> {
       o.manage_cgroups = !neg;
       if (v) o.manage_cgroups_mode = CRYO_TRY(ParseCgroupMode(*v));
       return {};
     }},
    {"cgroup-root", 0, Arg::kRequired, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       o.cgroup_root.push_back(CRYO_TRY(ParseCgroupRoot(*v)));
       return {};
     }},
    {"cgroup-props", 0, Arg::kRequired, false, STRING(cgroup_props)},
    {"cgroup-props-file", 0, Arg::kRequired, false, STRING(cgroup_props_file)},
    {"cgroup-dump-controller", 0, Arg::kRequired, false, APPEND(cgroup_dump_controller)},
    {"cgroup-yard", 0, Arg::kRequired, false, STRING(cgroup_yard)},
    {"page-server", 0, Arg::kNone, true, FLAG(page_server)},
    {"address", 0, Arg::kRequired, false, STRING(address)},
    {"port", 0, Arg::kRequired, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       o.port = CRYO_TRY(Number<int>(*v, "port"));
       return {};
     }},
    {"ps-socket", 0, Arg::kRequired, false,
     [](Options& o, std::optional<std::string_view> v, bool) -> Result<> {
       o.ps_socket = CRYO_TRY(Number<int>(*v, "ps-socket"));
       return {};
     }},
    {"tls", 0, Arg::kNone, true, FLAG(tls)},
    {"feature", 0, Arg::kRequired, false, APPEND(features)},
    {"all", 0, Arg::kNone, false, FLAG(check_all)},
    {"extra", 0, Arg::kNone, false, FLAG(check_extra)},
    {"experimental", 0, Arg::kNone, false, FLAG(check_experimental)},
    // Accepted for compatibility, with no effect in cryo.
    {"libdir", 'L', Arg::kRequired, false, IGNORED},
    {"log-to-stderr", 0, Arg::kNone, true, IGNORED},
    {"stream", 0, Arg::kNone, true, IGNORED},
};

#undef FLAG
#undef STRING
#undef APPEND
#undef IGNORED

const Spec* FindLong(std::string_view name) {
  for (const Spec& s : kSpecs)
    if (s.name == name) return &s;
  return nullptr;
}

const Spec* FindShort(char c) {
  for (const Spec& s : kSpecs)
    if (s.short_name == c) return &s;
  return nullptr;
}

constexpr std::string_view kCommands[] = {"dump",    "pre-dump",   "restore", "check",
                                          "swrk",    "service",    "page-server",
                                          "lazy-pages", "dedup",   "cpuinfo", "show",
                                          "version"};

struct Parser {
  Options& o;
  std::string where;  // command name or config file, for errors

  Result<> Fail(std::string msg) {
    return MakeError(EINVAL, "{}{}", where.empty() ? "" : where + ": ", msg);
  }

  // One argument word list; options and positional words in any order.
  Result<> Words(std::span<const std::string> args, bool positional_ok) {
    for (size_t i = 0; i < args.size(); i++) {
      std::string_view w = args[i];
      if (w == "--") {
        for (size_t j = i + 1; j < args.size(); j++) CRYO_TRY(Positional(args[j], positional_ok));
        return {};
      }
      if (w.starts_with("--")) {
        CRYO_TRY(Long(w.substr(2), args, i));
      } else if (w.size() > 1 && w[0] == '-') {
        CRYO_TRY(Shorts(w.substr(1), args, i));
      } else {
        CRYO_TRY(Positional(w, positional_ok));
      }
    }
    return {};
  }

  Result<> Positional(std::string_view w, bool ok) {
    if (!ok) return Fail(fmt::format("unexpected word '{}'", w));
    if (o.command.empty()) {
      if (std::find(std::begin(kCommands), std::end(kCommands), w) == std::end(kCommands))
        return MakeError(EINVAL, "unknown command '{}' (see cryo --help)", w);
      o.command = std::string(w);
      where = o.command;
      return {};
    }
    o.arguments.emplace_back(w);
    return {};
  }

  Result<> Run(const Spec& s, std::optional<std::string_view> v, bool neg) {
    auto r = s.apply(o, v, neg);
    if (!r) return Fail(r.error().message());
    return {};
  }

  Result<> Long(std::string_view body, std::span<const std::string> args, size_t& i) {
    std::optional<std::string_view> value;
    size_t eq = body.find('=');
    std::string_view name = body.substr(0, eq);
    if (eq != std::string_view::npos) value = body.substr(eq + 1);
    if (name == "version" || name == "help") {
      o.command = std::string(name);
      return {};
    }
    const Spec* s = FindLong(name);
    bool neg = false;
    if (s == nullptr && name.starts_with("no-")) {
      s = FindLong(name.substr(3));
      if (s != nullptr && !s->negatable) return Fail(fmt::format("--{} cannot be negated", s->name));
      neg = s != nullptr;
    }
    if (s == nullptr) return Fail(fmt::format("unknown option --{}", name));
    if (neg && value) return Fail(fmt::format("--{} takes no value", name));
    switch (s->arg) {
      case Arg::kNone:
        if (value) return Fail(fmt::format("--{} takes no value", name));
        break;
      case Arg::kRequired:
        if (!value) {
          if (i + 1 >= args.size()) return Fail(fmt::format("--{} needs a value", name));
          value = args[++i];
        }
        break;
      case Arg::kOptional:
        break;  // only with '='
    }
    return Run(*s, value, neg);
  }

  Result<> Shorts(std::string_view body, std::span<const std::string> args, size_t& i) {
    for (size_t k = 0; k < body.size(); k++) {
      char c = body[k];
      if (c == 'V' || c == 'h') {
        o.command = c == 'V' ? "version" : "help";
        continue;
      }
      const Spec* s = FindShort(c);
      if (s == nullptr) return Fail(fmt::format("unknown option -{}", c));
      std::string_view rest = body.substr(k + 1);
      if (s->arg == Arg::kNone) {
        CRYO_TRY(Run(*s, std::nullopt, false));
        continue;
      }
      if (!rest.empty()) return Run(*s, rest, false);  // -t123, -v4
      if (s->arg == Arg::kOptional) return Run(*s, std::nullopt, false);
      if (i + 1 >= args.size())
        return Fail(fmt::format("-{}/--{} needs a value", c, s->name));
      return Run(*s, std::string_view(args[++i]), false);
    }
    return {};
  }
};

// A config file line is an option without its dashes: "tcp-established",
// "log-file /tmp/x", "manage-cgroups=full"; '#' starts a comment.
Result<> ParseConfig(Options& o, const ConfigText& cfg) {
  Parser p{o, cfg.name};
  size_t lineno = 0;
  size_t at = 0;
  while (at <= cfg.text.size()) {
    size_t nl = cfg.text.find('\n', at);
    std::string_view line(cfg.text.data() + at,
                          (nl == std::string::npos ? cfg.text.size() : nl) - at);
    at = nl == std::string::npos ? cfg.text.size() + 1 : nl + 1;
    lineno++;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    auto trim = [](std::string_view s) {
      while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
      while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
      return s;
    };
    line = trim(line);
    if (line.empty()) continue;
    if (line.starts_with("--")) line.remove_prefix(2);
    size_t sp = line.find_first_of(" \t");
    std::vector<std::string> words = {"--" + std::string(line.substr(0, sp))};
    if (sp != std::string_view::npos) {
      std::string_view value = trim(line.substr(sp));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      words.emplace_back(value);
    }
    p.where = fmt::format("{}:{}", cfg.name, lineno);
    CRYO_TRY(p.Words(words, /*positional_ok=*/false));
  }
  return {};
}

}  // namespace

std::vector<std::string> ConfigFilesFor(const std::vector<std::string>& args,
                                        const char* env_config, const char* home) {
  bool no_default = false;
  std::vector<std::string> explicit_files;
  for (size_t i = 0; i < args.size(); i++) {
    if (args[i] == "--no-default-config") no_default = true;
    if (args[i] == "--config" && i + 1 < args.size()) explicit_files.push_back(args[i + 1]);
    if (args[i].starts_with("--config=")) explicit_files.push_back(args[i].substr(9));
  }
  std::vector<std::string> out;
  if (!no_default) {
    out.push_back("/etc/criu/default.conf");
    if (home != nullptr && *home != '\0') out.push_back(std::string(home) + "/.criu/default.conf");
  }
  if (env_config != nullptr && *env_config != '\0') out.push_back(env_config);
  for (auto& f : explicit_files) out.push_back(f);
  return out;
}

Result<Options> ParseCommandLine(const std::vector<std::string>& args,
                                 const std::vector<ConfigText>& configs) {
  Options o;
  for (const ConfigText& c : configs) CRYO_TRY(ParseConfig(o, c));
  // Config files must not pick the command.
  Parser p{o, ""};
  CRYO_TRY(p.Words(args, /*positional_ok=*/true));
  if (o.command.empty()) return MakeError(EINVAL, "no command given (see cryo --help)");
  return o;
}

Result<> ValidateOptions(const Options& o) {
  const std::string& c = o.command;
  auto fail = [&](std::string msg) { return MakeError(EINVAL, "{}: {}", c, msg); };
  if (c == "dump" || c == "pre-dump") {
    if (o.pid == 0) return fail("-t/--tree PID is required");
    if (o.leave_running && o.leave_stopped)
      return fail("--leave-running and --leave-stopped exclude each other");
  }
  if (c == "swrk") {
    if (o.arguments.size() != 1) return fail("needs the socket's fd number: cryo swrk FD");
  } else if (c == "show") {
    if (o.arguments.empty()) return fail("needs a file or directory: cryo show DIR|FILE");
  } else if (c == "cpuinfo") {
    if (o.arguments.size() != 1 || (o.arguments[0] != "dump" && o.arguments[0] != "check"))
      return fail("needs dump or check: cryo cpuinfo dump|check");
  } else if (!o.arguments.empty()) {
    return fail(fmt::format("unexpected word '{}'", o.arguments[0]));
  }
  return {};
}

std::string UsageText() {
  return R"(Usage:
  cryo dump -t PID [-D DIR] [-W DIR] [-o LOG] [-v4] [options]
  cryo pre-dump -t PID [-D DIR] [options]
  cryo restore [-D DIR] [-d] [--pidfile FILE] [options]
  cryo check [--feature NAME] [--json]
  cryo show DIR|FILE [--json]      decode images like `crit decode`
  cryo page-server -D DIR [--address A] --port P   take a dump's pages (dump --page-server)
  cryo lazy-pages -D DIR [--page-server --address A --port P]
                                   fill in a `restore --lazy-pages` (docs/lazy-pages.md)
  cryo swrk FD | service [--address PATH]
  cryo --version

cryo takes CRIU's options and config files (/etc/criu/default.conf,
~/.criu/default.conf, $CRIU_CONFIG_FILE, --config FILE); --no-X negates a
boolean option; optional values need '=' (--manage-cgroups=full, -v4).
It answers to the name `criu` too.
)";
}

}  // namespace cryo
