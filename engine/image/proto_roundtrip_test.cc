// Every image message cryo knows survives a trip through the image writer
// and reader with every field set: a check on framing and on the message
// definitions compiling to something the protobuf runtime round-trips.
#include <filesystem>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "engine/image/image_dir.h"
#include "engine/image/image_reader.h"
#include "engine/image/image_writer.h"
#include "engine/image/proto/pstree.pb.h"

namespace cryo {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Fills every field with a value derived from its number, nested messages
// to a bounded depth (some messages contain themselves).
void Fill(Message& m, int depth) {
  const Descriptor* d = m.GetDescriptor();
  const auto* refl = m.GetReflection();
  for (int i = 0; i < d->field_count(); i++) {
    const FieldDescriptor* f = d->field(i);
    uint64_t v = 1000 + static_cast<uint64_t>(f->number());
    int times = f->is_repeated() ? 2 : 1;
    for (int t = 0; t < times; t++) {
      bool rep = f->is_repeated();
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32:
          rep ? refl->AddInt32(&m, f, -int32_t(v)) : refl->SetInt32(&m, f, -int32_t(v));
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          rep ? refl->AddInt64(&m, f, -int64_t(v) << 33) : refl->SetInt64(&m, f, -int64_t(v) << 33);
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          rep ? refl->AddUInt32(&m, f, uint32_t(v)) : refl->SetUInt32(&m, f, uint32_t(v));
          break;
        case FieldDescriptor::CPPTYPE_UINT64:
          rep ? refl->AddUInt64(&m, f, v << 35) : refl->SetUInt64(&m, f, v << 35);
          break;
        case FieldDescriptor::CPPTYPE_BOOL:
          rep ? refl->AddBool(&m, f, true) : refl->SetBool(&m, f, true);
          break;
        case FieldDescriptor::CPPTYPE_STRING: {
          std::string s = f->name() + std::string("\0\u00e9", 3);
          rep ? refl->AddString(&m, f, s) : refl->SetString(&m, f, s);
          break;
        }
        case FieldDescriptor::CPPTYPE_ENUM: {
          const auto* e = f->enum_type()->value(f->enum_type()->value_count() - 1);
          rep ? refl->AddEnum(&m, f, e) : refl->SetEnum(&m, f, e);
          break;
        }
        case FieldDescriptor::CPPTYPE_MESSAGE:
          if (depth < 3 || f->is_required())
            Fill(rep ? *refl->AddMessage(&m, f) : *refl->MutableMessage(&m, f), depth + 1);
          break;
        default:
          break;
      }
    }
  }
}

TEST(ProtoRoundTrip, EveryImageMessage) {
  // Referencing one generated type keeps the generated pool linked in.
  ASSERT_NE(cryo::img::pstree_entry::descriptor(), nullptr);
  char tmpl[] = "/tmp/cryo-roundtrip-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  auto dir = OpenImageDir(tmpl).value();

  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  google::protobuf::DynamicMessageFactory factory(pool);
  std::vector<std::string> files = {"pstree.proto", "core.proto", "core_x86.proto", "creds.proto",
                                    "signal.proto", "mm.proto", "files.proto", "fown.proto",
                                    "pipe.proto", "socket.proto", "event.proto", "tty.proto",
                                    "namespaces.proto", "netdev.proto", "security.proto",
                                    "cgroup.proto", "stats.proto", "rpc.proto"};
  int checked = 0;
  for (const std::string& name : files) {
    const auto* file = pool->FindFileByName(name);
    ASSERT_NE(file, nullptr) << name;
    for (int i = 0; i < file->message_type_count(); i++) {
      const Descriptor* d = file->message_type(i);
      std::unique_ptr<Message> in(factory.GetPrototype(d)->New());
      Fill(*in, 0);
      ASSERT_TRUE(in->IsInitialized()) << d->full_name() << ": " << in->InitializationErrorString();
      {
        ImageWriter w(dir.get(), ImageKind::kFiles);
        ASSERT_TRUE(w.Write(*in));
        ASSERT_TRUE(w.WriteRaw(std::string_view("payload")));
        ASSERT_TRUE(w.Write(*in));
        ASSERT_TRUE(w.Close());
      }
      auto r = ImageReader::Open(dir.get(), ImageKind::kFiles).value();
      for (int k = 0; k < 2; k++) {
        std::unique_ptr<Message> out(factory.GetPrototype(d)->New());
        auto got = r.Next(*out);
        ASSERT_TRUE(got && *got) << d->full_name();
        EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*in, *out)) << d->full_name();
        if (k == 0) {
          EXPECT_EQ(r.ReadPayload(7).value(), "payload");
        }
      }
      checked++;
    }
  }
  EXPECT_GT(checked, 130);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace cryo
