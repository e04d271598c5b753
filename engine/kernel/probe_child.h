// Probes that need a traced child: seccomp filter dumping and the rseq
// configuration, read from a child stopped under ptrace.
#pragma once

namespace cryo {

struct TracedChildProbe {
  bool seccomp_filter_dump = false;
  bool rseq_config = false;
};

TracedChildProbe ProbeWithTracedChild();

}  // namespace cryo
