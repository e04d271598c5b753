#include "engine/proc/sessions.h"

#include <algorithm>
#include <map>

namespace cryo {
namespace {

bool IsAncestor(const std::vector<SessionTask>& t, int anc, int of) {
  for (int a = t[static_cast<size_t>(of)].parent; a >= 0; a = t[static_cast<size_t>(a)].parent)
    if (a == anc) return true;
  return false;
}

struct Planner {
  const std::vector<SessionTask>& t;
  SessionPlan p;
  std::vector<std::vector<size_t>> kids, waiting;
  std::vector<pid_t> born;  // the session a late leader is born in

  // Task i's ancestors up to one in session `sid` (or its leader) must be
  // born there; those leading another session lead it late. False when
  // the chain does not reach the session.
  Result<bool> Chain(size_t i, pid_t sid) {
    std::vector<size_t> path;  // late leaders, each with the child below it
    size_t below = i;
    for (int a = t[i].parent; a >= 0; below = static_cast<size_t>(a), a = t[static_cast<size_t>(a)].parent) {
      const SessionTask& at = t[static_cast<size_t>(a)];
      if (at.pid == sid || at.sid == sid) {
        for (size_t k = 0; k < path.size(); k += 2) {
          size_t l = path[k];
          if (born[l] != 0 && born[l] != sid)
            return MakeError(ENOTSUP, "pid {} forked children in sessions {} and {} before its setsid: not supported",
                             t[l].pid, born[l], sid);
          born[l] = sid;
          p.late[l] = true;
          p.early[path[k + 1]] = true;
        }
        return true;
      }
      if (at.sid != at.pid) return false;
      path.push_back(static_cast<size_t>(a));
      path.push_back(below);
    }
    return false;
  }

  void Visit(size_t i) {
    p.order.push_back(i);
    for (int pass = 0; pass < 2; pass++)
      for (size_t c : kids[i]) {
        if (p.early[c] != (pass == 0)) continue;
        int l = p.via[c];
        if (l >= 0 && std::find(p.order.begin(), p.order.end(), static_cast<size_t>(l)) == p.order.end())
          waiting[static_cast<size_t>(l)].push_back(c);
        else
          Visit(c);
      }
    for (size_t c : waiting[i]) Visit(c);
  }
};

}  // namespace

Result<SessionPlan> PlanSessions(const std::vector<SessionTask>& t) {
  Planner pl{t, {}, {}, {}, {}};
  size_t n = t.size();
  pl.p.late.assign(n, false);
  pl.p.early.assign(n, false);
  pl.p.via.assign(n, -1);
  pl.kids.resize(n);
  pl.waiting.resize(n);
  pl.born.assign(n, 0);
  std::map<pid_t, size_t> at;
  for (size_t i = 0; i < n; i++) {
    at[t[i].pid] = i;
    if (i > 0) {
      if (t[i].parent < 0 || static_cast<size_t>(t[i].parent) >= i)
        return MakeError(EINVAL, "pid {}: its parent comes after it", t[i].pid);
      pl.kids[static_cast<size_t>(t[i].parent)].push_back(i);
    }
  }
  for (size_t i = 1; i < n; i++) {
    const SessionTask& x = t[i];
    const SessionTask& parent = t[static_cast<size_t>(x.parent)];
    if (x.sid == x.pid || x.sid == parent.sid) continue;
    if (CRYO_TRY(pl.Chain(i, x.sid))) continue;
    auto l = at.find(x.sid);
    if (l == at.end()) continue;  // a lost session: its own helper
    if (!IsAncestor(t, x.parent, static_cast<int>(l->second)))
      return MakeError(ENOTSUP,
                       "pid {} is in session {}, whose leader is neither its ancestor nor a descendant of its "
                       "parent {}: not supported",
                       x.pid, x.sid, parent.pid);
    pl.p.via[i] = static_cast<int>(l->second);
  }
  if (n > 0) pl.Visit(0);
  if (pl.p.order.size() != n) return MakeError(EINVAL, "the tree's sessions order {} of {} tasks", pl.p.order.size(), n);
  return pl.p;
}

}  // namespace cryo
