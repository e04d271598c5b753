#include "netns/nft.h"

#include <nftables/libnftables.h>

#include <memory>
#include <vector>

#include "netns/in_netns.h"

namespace cryo::netns {

Result<std::string> Nft(int netns_fd, std::string_view cmds) {
  auto in = CRYO_TRY(NetnsSwitch::Enter(netns_fd));
  std::unique_ptr<nft_ctx, decltype(&nft_ctx_free)> ctx(nft_ctx_new(NFT_CTX_DEFAULT), nft_ctx_free);
  if (!ctx) return MakeError(ENOMEM, "nft_ctx_new");
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  std::string text(cmds);
  if (nft_run_cmd_from_buffer(ctx.get(), text.c_str()) != 0) {
    std::string err = nft_ctx_get_error_buffer(ctx.get());
    while (!err.empty() && err.back() == '\n') err.pop_back();
    size_t nl = err.find('\n');
    return MakeError(EIO, "nft: {}", nl == std::string::npos ? err : err.substr(0, nl));
  }
  return std::string(nft_ctx_get_output_buffer(ctx.get()));
}

Result<std::vector<std::string>> NftTables(int netns_fd) {
  std::string out = CRYO_TRY(Nft(netns_fd, "list tables"));
  std::vector<std::string> tables;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    std::string line = out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? out.size() : nl + 1;
    if (line.starts_with("table ")) tables.push_back(line.substr(6));
  }
  return tables;
}

}  // namespace cryo::netns
