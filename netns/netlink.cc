#include "netns/netlink.h"

#include <sys/socket.h>

#include <cstring>

namespace cryo::netns {

Result<Rtnl> Rtnl::Open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return ErrnoError("rtnetlink socket");
  int one = 1;
  // Errors come with the kernel's text, and dumps of big tables fit.
  (void)::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  int rcvbuf = 1 << 20;
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return ErrnoError("bind rtnetlink socket");
  return Rtnl(std::move(fd));
}

Result<> Rtnl::Send(const std::string& msg) {
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  ssize_t n = ::sendto(fd_.get(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  if (n < 0) return ErrnoError("send netlink message");
  if (static_cast<size_t>(n) != msg.size()) return MakeError(EIO, "short netlink send");
  return {};
}

namespace {

// The text the kernel put in an extended ack, if any.
std::string AckText(const nlmsghdr* h) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(h));
  size_t off = sizeof(nlmsgerr);
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += err->msg.nlmsg_len - sizeof(nlmsghdr);
  std::string text;
  ForEachAttr(const_cast<nlmsghdr*>(h), off, [&](nlattr* a) {
    if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG) text = AttrStr(a);
  });
  return text;
}

}  // namespace

Result<std::vector<std::string>> Rtnl::Dump(uint16_t type, uint8_t family) {
  NlBuilder b(type, NLM_F_REQUEST | NLM_F_DUMP);
  // rtgenmsg is the first byte of every family header.
  b.Header<rtgenmsg>()->rtgen_family = family;
  uint32_t seq = seq_++;
  b.nlh()->nlmsg_seq = seq;
  CRYO_TRY(Send(b.Take()));
  std::vector<std::string> out;
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("receive netlink dump");
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return out;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(h));
        return MakeError(-err->error, "netlink dump {}", type);
      }
      out.emplace_back(reinterpret_cast<const char*>(h), h->nlmsg_len);
    }
  }
}

Result<> Rtnl::Talk(std::string msg) {
  if (msg.size() < sizeof(nlmsghdr)) return MakeError(EINVAL, "netlink message too short");
  auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
  uint32_t seq = seq_++;
  h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  h->nlmsg_seq = seq;
  h->nlmsg_pid = 0;
  CRYO_TRY(Send(msg));
  std::vector<char> buf(1 << 15);
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("receive netlink ack");
    int left = static_cast<int>(n);
    for (auto* r = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(r, left); r = mnl_nlmsg_next(r, &left)) {
      if (r->nlmsg_seq != seq || r->nlmsg_type != NLMSG_ERROR) continue;
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(r));
      if (err->error == 0) return {};
      std::string text = AckText(r);
      return MakeError(-err->error, "{}", text.empty() ? "the kernel refused" : text);
    }
  }
}

NlBuilder::NlBuilder(uint16_t type, uint16_t flags) : buf_(16384, 0) {
  nlmsghdr* h = mnl_nlmsg_put_header(buf_.data());
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
}

void NlBuilder::PutStr(uint16_t type, std::string_view s) {
  std::string z(s);
  mnl_attr_put_strz(nlh(), type, z.c_str());
}

namespace {

struct ParseCtx {
  Attrs* out;
  uint16_t max;
};

int Collect(const nlattr* a, void* data) {
  auto* c = static_cast<ParseCtx*>(data);
  uint16_t t = mnl_attr_get_type(a);
  if (t <= c->max) (*c->out)[t] = a;
  return MNL_CB_OK;
}

}  // namespace

Attrs ParseAttrs(const nlmsghdr* nlh, size_t header_len, uint16_t max) {
  Attrs out(max + 1u, nullptr);
  ParseCtx c{&out, max};
  mnl_attr_parse(nlh, static_cast<unsigned>(header_len), Collect, &c);
  return out;
}

Attrs ParseNested(const nlattr* nest, uint16_t max) {
  Attrs out(max + 1u, nullptr);
  if (!nest) return out;
  ParseCtx c{&out, max};
  mnl_attr_parse_nested(nest, Collect, &c);
  return out;
}

std::string AttrStr(const nlattr* a) {
  if (!a) return "";
  const char* s = static_cast<const char*>(mnl_attr_get_payload(a));
  size_t len = mnl_attr_get_payload_len(a);
  return std::string(s, ::strnlen(s, len));
}

}  // namespace cryo::netns
