// How a tree's sessions come back when a member's session leader is in the
// tree but not its parent's session: the order tasks are created in, and
// who creates them.
//
// Two shapes happen. A task born in a session whose leader is its
// ancestor, under parents that called setsid only after forking it
// (session00's CHANGESID): each such parent is made in the old session
// and creates those children before its own setsid ("late"). And an
// orphan, reparented to an ancestor of its session's leader (a pid
// namespace's init, or a child subreaper): a helper, a child of the
// leader, creates it and exits, so the orphan is reparented again.
#pragma once

#include <sys/types.h>

#include <vector>

#include "engine/base/result.h"

namespace cryo {

struct SessionTask {
  pid_t pid = 0, sid = 0;
  int parent = -1;  // index; -1 for the root, which comes first
};

struct SessionPlan {
  std::vector<size_t> order;   // creation order: parents first, pre-setsid children before the rest
  std::vector<bool> late;      // leads its session, after creating its `early` children
  std::vector<bool> early;     // created by its parent before the parent's setsid
  std::vector<int> via;        // the leader whose helper creates this orphan, or -1
};

// Sessions whose leader is outside the tree are not this plan's business
// (they have helpers of their own): such tasks are created as usual.
Result<SessionPlan> PlanSessions(const std::vector<SessionTask>& tasks);

}  // namespace cryo
