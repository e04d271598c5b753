#include "engine/mem/page_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "engine/base/files.h"
#include "engine/image/image_reader.h"
#include "engine/mem/page_sink.h"

namespace cryo {
namespace {

constexpr uint32_t kPeParent = 1, kPePresent = 4;

img::pagemap_entry Entry(uint64_t vaddr, uint64_t pages, uint32_t flags) {
  img::pagemap_entry e;
  e.set_vaddr(vaddr);
  e.set_nr_pages(static_cast<uint32_t>(pages));
  e.set_nr_pages_64(pages);
  e.set_flags(flags);
  return e;
}

class PageServer : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cryo-ps-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    server_ = fork();
    ASSERT_GE(server_, 0);
    if (server_ == 0) {
      close(sv[0]);
      int d = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
      Log nolog;
      _exit(ps::Serve(sv[1], d, nolog) ? 0 : 1);
    }
    close(sv[1]);
    sock_ = UniqueFd(sv[0]);
  }
  void TearDown() override {
    if (server_ > 0) waitpid(server_, nullptr, 0);
    std::string cmd = "rm -rf " + dir_;
    (void)std::system(cmd.c_str());
  }
  int ServerExit() {
    int st = 0;
    waitpid(server_, &st, 0);
    server_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  }
  std::string dir_;
  pid_t server_ = -1;
  UniqueFd sock_;
};

TEST_F(PageServer, WritesWhatTheDumpSends) {
  auto sink = PageServerSink(std::move(sock_));
  std::string a(2 * 4096, 'a'), b(4096, 'b'), s(4096, 's');
  ASSERT_TRUE(sink->Open(ImageKind::kPagemap, 42));
  // Entries run ahead of their bytes, which come in odd pieces.
  ASSERT_TRUE(sink->Entry(Entry(0x10000, 2, kPePresent)));
  ASSERT_TRUE(sink->Entry(Entry(0x12000, 1, kPeParent)));
  ASSERT_TRUE(sink->Entry(Entry(0x20000, 1, kPePresent)));
  std::string all = a + b;
  ASSERT_TRUE(sink->Pages(std::string_view(all).substr(0, 5000)));
  ASSERT_TRUE(sink->Pages(std::string_view(all).substr(5000)));
  ASSERT_TRUE(sink->Open(ImageKind::kShmemPagemap, 7));
  ASSERT_TRUE(sink->Entry(Entry(0, 1, kPePresent)));
  ASSERT_TRUE(sink->Pages(s));
  auto done = sink->Finish(false);
  ASSERT_TRUE(done) << done.error().what();
  ASSERT_EQ(ServerExit(), 0);

  UniqueFd d = Open(dir_, O_RDONLY | O_DIRECTORY).value();
  ImageReader pm = ImageReader::Open(d.get(), ImageKind::kPagemap, 42).value();
  img::pagemap_head head;
  ASSERT_TRUE(pm.Next(head).value());
  std::vector<std::pair<uint64_t, uint32_t>> got;
  img::pagemap_entry e;
  while (pm.Next(e).value()) got.emplace_back(e.vaddr(), e.flags());
  EXPECT_EQ(got, (std::vector<std::pair<uint64_t, uint32_t>>{{0x10000, kPePresent}, {0x12000, kPeParent},
                                                              {0x20000, kPePresent}}));
  EXPECT_EQ(ReadFile(dir_ + "/pages-" + std::to_string(head.pages_id()) + ".img").value(), all);
  ImageReader sm = ImageReader::Open(d.get(), ImageKind::kShmemPagemap, 7).value();
  ASSERT_TRUE(sm.Next(head).value());
  EXPECT_EQ(ReadFile(dir_ + "/pages-" + std::to_string(head.pages_id()) + ".img").value(), s);
}

TEST_F(PageServer, StopsOnAnUnknownCommand) {
  ps::Iov pi{0x77, 0, 0, 0};
  ASSERT_EQ(write(sock_.get(), &pi, sizeof pi), static_cast<ssize_t>(sizeof pi));
  EXPECT_EQ(ServerExit(), 1);
}

TEST_F(PageServer, StopsWhenTheDumperHangsUp) {
  auto sink = PageServerSink(std::move(sock_));
  ASSERT_TRUE(sink->Open(ImageKind::kPagemap, 1));
  ASSERT_TRUE(sink->Entry(Entry(0x10000, 4, kPePresent)));
  ASSERT_TRUE(sink->Pages(std::string(4096, 'x')));  // 3 pages short
  sink.reset();
  EXPECT_EQ(ServerExit(), 1);
}

}  // namespace
}  // namespace cryo
