// A files.img entry holds its file in one part of its own kind (reg, usk,
// pipe, ...); fields every kind shares by name (fown, flags) are reached
// through whichever part is set.
#pragma once

#include <type_traits>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "engine/image/proto/files.pb.h"

namespace cryo {

// Calls fn(part, field) for each set part of `e` that has a field called
// `name`, until fn returns true. `E` is img::file_entry, const or not;
// `part` is as const as `e`.
template <typename E, typename Fn>
void ForPartsWith(E& e, const char* name, Fn fn) {
  const auto* refl = e.GetReflection();
  const auto* desc = e.GetDescriptor();
  for (int i = 0; i < desc->field_count(); i++) {
    const auto* field = desc->field(i);
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE || !refl->HasField(e, field)) continue;
    auto& part = [&]() -> auto& {
      if constexpr (std::is_const_v<E>)
        return refl->GetMessage(e, field);
      else
        return *refl->MutableMessage(&e, field);
    }();
    const auto* named = part.GetDescriptor()->FindFieldByName(name);
    if (named != nullptr && fn(part, named)) return;
  }
}

}  // namespace cryo
