#include <cstdio>

#include "cli/commands.h"
#include "engine/kernel/features.h"

namespace cryo {

Result<int> RunCheck(const Options& o, Log& log) {
  KernelFeatures k = ProbeKernelFeatures();
  if (!o.features.empty()) {
    int status = 0;
    for (const std::string& name : o.features) {
      auto has = CriuFeature(k, name);
      if (!has) return MakeError(EINVAL, "unknown feature '{}'", name);
      std::printf("%s is %ssupported\n", name.c_str(), *has ? "" : "not ");
      if (!*has) status = 1;
    }
    return status;
  }
  bool ok = KernelCheckPasses(k);
  if (o.json) {
    std::printf("%s\n", FeaturesToJson(k).dump(2).c_str());
    return ok ? 0 : 1;
  }
  std::fputs(FormatFeatures(k).c_str(), stdout);
  if (o.check_all || o.check_extra || o.check_experimental) {
    for (std::string_view n : CriuFeatureNames())
      std::printf("%-26.*s %s\n", static_cast<int>(n.size()), n.data(),
                  *CriuFeature(k, n) ? "yes" : "no");
  }
  if (!ok) {
    log.Error("this kernel lacks what dump and restore need");
    std::puts("The kernel lacks what checkpoint/restore needs (see the lines saying no).");
    return 1;
  }
  std::puts("Looks good.");
  return 0;
}

}  // namespace cryo
