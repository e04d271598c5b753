// Framing tests: headers, entries, payloads, missing files and each kind of
// corrupt input. Entry contents use a protobuf well-known type; the CRIU
// messages get their own round-trip test.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <google/protobuf/duration.pb.h>
#include <gtest/gtest.h>

#include "engine/base/files.h"
#include "engine/image/image_dir.h"
#include "engine/image/image_reader.h"
#include "engine/image/image_writer.h"

namespace cryo {
namespace {

class ImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cryo-image-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    path_ = tmpl;
    dir_ = OpenImageDir(path_).value();
  }
  void TearDown() override { std::filesystem::remove_all(path_); }

  std::string Bytes(const std::string& name) { return ReadFile(path_ + "/" + name).value(); }
  void Put(const std::string& name, const std::string& bytes) {
    ASSERT_TRUE(WriteFile(path_ + "/" + name, bytes));
  }
  static std::string U32(uint32_t v) { return std::string(reinterpret_cast<char*>(&v), 4); }
  static google::protobuf::Duration Entry(int64_t s) {
    google::protobuf::Duration d;
    d.set_seconds(s);
    d.set_nanos(7);
    return d;
  }

  std::string path_;
  UniqueFd dir_;
};

TEST_F(ImageTest, CommonHeaderEntriesAndPayload) {
  ImageWriter w(dir_.get(), ImageKind::kPipesData);
  ASSERT_TRUE(w.Write(Entry(1)));
  ASSERT_TRUE(w.WriteRaw(std::string_view("abc")));
  ASSERT_TRUE(w.Write(Entry(2)));
  ASSERT_TRUE(w.Close());

  std::string b = Bytes("pipes-data.img");
  // 19 43 56 54, then the image magic, little-endian.
  EXPECT_EQ(b.substr(0, 4), std::string("\x19\x43\x56\x54", 4));
  EXPECT_EQ(b.substr(4, 4), U32(0x56453709));
  std::string e1 = Entry(1).SerializeAsString();
  EXPECT_EQ(b.substr(8, 4), U32(e1.size()));
  EXPECT_EQ(b.substr(12, e1.size()), e1);
  EXPECT_EQ(b.substr(12 + e1.size(), 3), "abc");

  auto r = ImageReader::Open(dir_.get(), ImageKind::kPipesData).value();
  google::protobuf::Duration d;
  ASSERT_TRUE(r.Next(d).value());
  EXPECT_EQ(d.seconds(), 1);
  EXPECT_EQ(r.ReadPayload(3).value(), "abc");
  ASSERT_TRUE(r.Next(d).value());
  EXPECT_EQ(d.seconds(), 2);
  EXPECT_FALSE(r.Next(d).value());
  EXPECT_TRUE(r.at_end());
}

TEST_F(ImageTest, InventoryHasOnlyItsOwnMagic) {
  ASSERT_TRUE(WriteSingleEntryImage(dir_.get(), ImageKind::kInventory, 0, Entry(5)));
  std::string b = Bytes("inventory.img");
  EXPECT_EQ(b.substr(0, 4), U32(0x58313116));
  EXPECT_EQ(b.substr(4, 4), U32(Entry(5).ByteSizeLong()));
  google::protobuf::Duration d;
  ASSERT_TRUE(ReadSingleEntryImage(dir_.get(), ImageKind::kInventory, 0, d));
  EXPECT_EQ(d.seconds(), 5);
}

TEST_F(ImageTest, ServiceFilesHaveServiceMagicAndNoImgSuffix) {
  ASSERT_TRUE(WriteSingleEntryImage(dir_.get(), ImageKind::kStatsDump, 0, Entry(3)));
  std::string b = Bytes("stats-dump");
  EXPECT_EQ(b.substr(0, 4), U32(kImgServiceMagic));
  EXPECT_EQ(b.substr(4, 4), U32(0x57093306));
  auto r = ImageReader::OpenAny(dir_.get(), "stats-dump").value();
  EXPECT_EQ(r.magic_info()->name, "STATS");
}

TEST_F(ImageTest, RawImagesHaveNoHeader) {
  ImageWriter w(dir_.get(), ImageKind::kPages, 3);
  std::string page(4096, 'x');
  ASSERT_TRUE(w.WriteRaw(std::string_view(page)));
  ASSERT_TRUE(w.Close());
  EXPECT_EQ(Bytes("pages-3.img"), page);
  google::protobuf::Duration d;
  EXPECT_FALSE(w.Write(d));
}

TEST_F(ImageTest, FileNamesFollowCriu) {
  EXPECT_EQ(ImageFileName(ImageKind::kCore, 42), "core-42.img");
  EXPECT_EQ(ImageFileName(ImageKind::kGhostFile, 255), "ghost-file-ff.img");
  EXPECT_EQ(ImageFileName(ImageKind::kTcpStream, 0x1234), "tcp-stream-1234.img");
  EXPECT_EQ(ImageFileName(ImageKind::kTmpfsDev, 33), "tmpfs-dev-33.tar.gz.img");
  EXPECT_EQ(ImageFileName(ImageKind::kShmemPagemap, 9), "pagemap-shmem-9.img");
  EXPECT_EQ(ImageFileName(ImageKind::kIrmapCache), "irmap-cache");
}

TEST_F(ImageTest, EmptyImageIsNeverWritten) {
  {
    ImageWriter w(dir_.get(), ImageKind::kFiles);
    ASSERT_TRUE(w.Close());
  }
  EXPECT_FALSE(std::filesystem::exists(path_ + "/files.img"));
}

TEST_F(ImageTest, MissingImageReadsAsNoEntries) {
  auto r = ImageReader::Open(dir_.get(), ImageKind::kFiles);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->present());
  google::protobuf::Duration d;
  EXPECT_FALSE(r->Next(d).value());
  auto single = ReadSingleEntryImage(dir_.get(), ImageKind::kCore, 1, d);
  ASSERT_FALSE(single);
  EXPECT_EQ(single.error().message(), "image core-1.img is missing");
}

TEST_F(ImageTest, LargeWritesBypassTheBuffer) {
  ImageWriter w(dir_.get(), ImageKind::kPipesData);
  ASSERT_TRUE(w.Write(Entry(1)));
  std::string big(1 << 20, 'q');
  ASSERT_TRUE(w.WriteRaw(std::string_view(big)));
  ASSERT_TRUE(w.Write(Entry(2)));
  ASSERT_TRUE(w.Close());
  auto r = ImageReader::Open(dir_.get(), ImageKind::kPipesData).value();
  google::protobuf::Duration d;
  ASSERT_TRUE(r.Next(d).value());
  EXPECT_EQ(r.ReadPayload(big.size()).value(), big);
  ASSERT_TRUE(r.Next(d).value());
  EXPECT_EQ(d.seconds(), 2);
}

TEST_F(ImageTest, FilesAreCreatedPrivate) {
  ASSERT_TRUE(WriteSingleEntryImage(dir_.get(), ImageKind::kPstree, 0, Entry(1)));
  struct stat st;
  ASSERT_EQ(::stat((path_ + "/pstree.img").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// Corrupt input: each error names the file and the offset.

TEST_F(ImageTest, BadCommonMagic) {
  Put("pstree.img", U32(0x11111111) + U32(0x50273030));
  auto r = ImageReader::Open(dir_.get(), ImageKind::kPstree);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "image pstree.img: bad magic 0x11111111 at offset 0 (want 0x54564319)");
}

TEST_F(ImageTest, WrongImageMagic) {
  Put("pstree.img", U32(kImgCommonMagic) + U32(0x55053847));
  auto r = ImageReader::Open(dir_.get(), ImageKind::kPstree);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "image pstree.img: bad magic 0x55053847 at offset 4 (want 0x50273030, PSTREE)");
}

TEST_F(ImageTest, TruncatedHeader) {
  Put("pstree.img", std::string("\x19\x43", 2));
  auto r = ImageReader::Open(dir_.get(), ImageKind::kPstree);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "image pstree.img: truncated header at offset 0: need 4 bytes, 2 left");
}

TEST_F(ImageTest, TruncatedEntry) {
  Put("pstree.img", U32(kImgCommonMagic) + U32(0x50273030) + U32(100) + "short");
  auto r = ImageReader::Open(dir_.get(), ImageKind::kPstree).value();
  google::protobuf::Duration d;
  auto n = r.Next(d);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message(),
            "image pstree.img: truncated entry at offset 8: size says 100 bytes, 5 left");
}

TEST_F(ImageTest, TruncatedEntrySize) {
  Put("pstree.img", U32(kImgCommonMagic) + U32(0x50273030) + std::string("\x01\x00", 2));
  auto r = ImageReader::Open(dir_.get(), ImageKind::kPstree).value();
  google::protobuf::Duration d;
  auto n = r.Next(d);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message(),
            "image pstree.img: truncated entry size at offset 8: need 4 bytes, 2 left");
}

TEST_F(ImageTest, OversizedEntryIsRefusedBeforeAllocating) {
  Put("pstree.img", U32(kImgCommonMagic) + U32(0x50273030) + U32(0xfffffff0));
  auto r = ImageReader::Open(dir_.get(), ImageKind::kPstree).value();
  google::protobuf::Duration d;
  auto n = r.Next(d);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message(),
            "image pstree.img: oversized entry at offset 8: 4294967280 bytes (limit 67108864)");
}

TEST_F(ImageTest, GarbageEntry) {
  Put("pstree.img", U32(kImgCommonMagic) + U32(0x50273030) + U32(3) + "\xff\xff\xff");
  auto r = ImageReader::Open(dir_.get(), ImageKind::kPstree).value();
  google::protobuf::Duration d;
  auto n = r.Next(d);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message(),
            "image pstree.img: entry at offset 8 is not a valid google.protobuf.Duration (3 bytes)");
}

TEST_F(ImageTest, TruncatedPayload) {
  ImageWriter w(dir_.get(), ImageKind::kPipesData);
  ASSERT_TRUE(w.Write(Entry(1)));
  ASSERT_TRUE(w.Close());
  auto r = ImageReader::Open(dir_.get(), ImageKind::kPipesData).value();
  google::protobuf::Duration d;
  ASSERT_TRUE(r.Next(d).value());
  auto p = r.ReadPayload(10);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("truncated payload at offset"), std::string::npos);
  EXPECT_FALSE(r.SkipPayload(1));
}

TEST_F(ImageTest, UnknownFileIsRefusedByOpenAny) {
  Put("mystery.img", U32(kImgCommonMagic) + U32(0x12345678));
  auto r = ImageReader::OpenAny(dir_.get(), "mystery.img");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "image mystery.img: unknown magic 0x12345678 at offset 4: not a CRIU image (or a RAW "
            "one, which has no header)");
  auto missing = ImageReader::OpenAny(dir_.get(), "nothere.img");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().what(), "open image nothere.img: ENOENT");
}

TEST_F(ImageTest, OpenAnyFindsKindByMagic) {
  ASSERT_TRUE(WriteSingleEntryImage(dir_.get(), ImageKind::kCore, 7, Entry(1)));
  auto r = ImageReader::OpenAny(dir_.get(), "core-7.img").value();
  EXPECT_EQ(r.magic_info()->name, "CORE");
  EXPECT_EQ(r.magic_info()->message, "core_entry");
  ASSERT_TRUE(WriteSingleEntryImage(dir_.get(), ImageKind::kInventory, 0, Entry(1)));
  EXPECT_EQ(ImageReader::OpenAny(dir_.get(), "inventory.img").value().magic_info()->name,
            "INVENTORY");
}

TEST_F(ImageTest, DirectoryAsImageIsRefused) {
  ASSERT_EQ(::mkdir((path_ + "/core-1.img").c_str(), 0700), 0);
  auto r = ImageReader::Open(dir_.get(), ImageKind::kCore, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "image core-1.img: not a regular file");
}

}  // namespace
}  // namespace cryo
