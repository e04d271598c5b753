// A thread stopped inside a restartable-sequence critical section: the
// kernel aborts the section (rip to its abort handler, rseq_cs cleared)
// when the thread next returns to user space after a preemption, which
// a ptrace stop is. cryo does that abort itself before it runs anything
// in the thread, so its own code is not mistaken for the section.
#pragma once

#include <sys/types.h>

#include "engine/base/log.h"
#include "engine/base/result.h"

namespace cryo {

// Moves a thread that sits inside its rseq critical section to the
// section's abort handler, as the kernel would on its next resume.
Result<> AbortRseqSection(pid_t tid, Log& log);

}  // namespace cryo
