// The fd numbers an epoll's registrations name (fdinfo's "tfd"), checked
// against the files the task holds: a registration made through an fd
// since closed (or dup'ed over) names that fd, while epoll watches the
// file it was made with. As CRIU records it, such a registration is named
// by another fd of the task on the same file (kcmp KCMP_EPOLL_TFD).
#pragma once

#include <sys/types.h>

#include "engine/base/result.h"
#include "engine/image/proto/files.pb.h"

namespace cryo {

// `efd`: the epoll's fd in `holder` (the task, or cryo for an epoll in
// flight); `task`: whose fd numbers the registrations name. Refuses a
// registration whose file the task holds no fd of, and two of one file
// that would end up on one fd.
Result<> ResolveEpollTargets(pid_t holder, int efd, pid_t task, img::eventpoll_file_entry* e);

}  // namespace cryo
