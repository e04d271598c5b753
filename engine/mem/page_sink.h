// Where a dump's pagemaps and pages go: image files in the images dir, or
// a page server (CRIU's page_server_iov protocol, page_server.h) that
// writes them into its own.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/image_type.h"
#include "engine/image/image_writer.h"
#include "engine/image/proto/mm.pb.h"

namespace cryo {

class PageSink {
 public:
  virtual ~PageSink() = default;
  // Starts the pagemap of `kind` (kPagemap: by task; kShmemPagemap: by
  // shared memory id); the previous one is closed.
  virtual Result<> Open(ImageKind kind, uint64_t id) = 0;
  // The pagemap's entries in address order. The bytes of the PE_PRESENT
  // ones follow through Pages, in the same order, in pieces of any size
  // (entries may run ahead of their bytes).
  virtual Result<> Entry(const img::pagemap_entry& e) = 0;
  virtual Result<> Pages(std::string_view bytes) = 0;
  // Ends the current pagemap.
  virtual Result<> Close() = 0;
  // Ends the whole transfer (a page server closes its images and exits);
  // `failed`: the dump failed.
  virtual Result<> Finish(bool failed) = 0;
};

// pagemap-*.img and pages-N.img in `dir`, pages ids from `first_pages_id`.
std::unique_ptr<PageSink> LocalPageSink(int dir, uint32_t* next_pages_id);

// A page server on `sock` (connected).
std::unique_ptr<PageSink> PageServerSink(UniqueFd sock);
// Connects to a page server at address:port (IPv4 or IPv6 literal or name).
Result<UniqueFd> ConnectPageServer(const std::string& address, int port);

}  // namespace cryo
