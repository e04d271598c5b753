// Writes a small but complete image set with cryo's image library: two
// processes (one with two threads), their cores, ids, memory layout,
// pagemaps and pages, files and fd tables. The images suite checks that
// Debian's crit reads all of it and that `cryo show` agrees with crit.
#include <fcntl.h>
#include <sys/mman.h>

#include <cstdio>
#include <string>

#include "engine/image/image_dir.h"
#include "engine/image/image_writer.h"
#include "engine/image/proto/core.pb.h"
#include "engine/image/proto/files.pb.h"
#include "engine/image/proto/mm.pb.h"
#include "engine/image/proto/pstree.pb.h"
#include "engine/image/proto/stats.pb.h"

namespace cryo {
namespace {

using namespace cryo::img;

constexpr uint64_t kPage = 4096;

Result<> WriteCore(int dir, uint32_t tid, bool leader, const char* comm) {
  core_entry core;
  core.set_mtype(core_entry::X86_64);
  auto* ti = core.mutable_thread_info();
  ti->set_clear_tid_addr(0x7f0000001000 + tid);
  auto* r = ti->mutable_gpregs();
  uint64_t v = tid;
  for (auto set : {&user_x86_regs_entry::set_r15, &user_x86_regs_entry::set_r14,
                   &user_x86_regs_entry::set_r13, &user_x86_regs_entry::set_r12,
                   &user_x86_regs_entry::set_bp, &user_x86_regs_entry::set_bx,
                   &user_x86_regs_entry::set_r11, &user_x86_regs_entry::set_r10,
                   &user_x86_regs_entry::set_r9, &user_x86_regs_entry::set_r8,
                   &user_x86_regs_entry::set_ax, &user_x86_regs_entry::set_cx,
                   &user_x86_regs_entry::set_dx, &user_x86_regs_entry::set_si,
                   &user_x86_regs_entry::set_di, &user_x86_regs_entry::set_orig_ax,
                   &user_x86_regs_entry::set_ip, &user_x86_regs_entry::set_cs,
                   &user_x86_regs_entry::set_flags, &user_x86_regs_entry::set_sp,
                   &user_x86_regs_entry::set_ss, &user_x86_regs_entry::set_fs_base,
                   &user_x86_regs_entry::set_gs_base, &user_x86_regs_entry::set_ds,
                   &user_x86_regs_entry::set_es, &user_x86_regs_entry::set_fs,
                   &user_x86_regs_entry::set_gs})
    (r->*set)(v++ * 0x1111);
  r->set_mode(NATIVE);
  auto* fp = ti->mutable_fpregs();
  fp->set_cwd(0x37f);
  fp->set_swd(0);
  fp->set_twd(0);
  fp->set_fop(0);
  fp->set_rip(0);
  fp->set_rdp(0);
  fp->set_mxcsr(0x1f80);
  fp->set_mxcsr_mask(0xffff);
  for (int i = 0; i < 32; i++) fp->add_st_space(i);
  for (int i = 0; i < 64; i++) fp->add_xmm_space(i * 3);
  auto* xs = fp->mutable_xsave();
  xs->set_xstate_bv(7);
  for (int i = 0; i < 64; i++) xs->add_ymmh_space(i);
  auto* tls = ti->add_tls();
  tls->set_entry_number(12);
  tls->set_base_addr(0);
  tls->set_limit(0);
  tls->set_seg_32bit(false);
  tls->set_contents_h(false);
  tls->set_contents_l(false);
  tls->set_read_exec_only(true);
  tls->set_limit_in_pages(false);
  tls->set_seg_not_present(true);
  tls->set_usable(false);

  if (leader) {
    auto* tc = core.mutable_tc();
    tc->set_task_state(1);
    tc->set_exit_code(0);
    tc->set_personality(0);
    tc->set_flags(0x400100);
    tc->set_blk_sigset(0);
    tc->set_comm(comm);
    tc->set_oom_score_adj(0);
    for (int sig = 1; sig <= 64; sig++) {
      if (sig == 9 || sig == 19) continue;
      auto* sa = tc->add_sigactions();
      sa->set_sigaction(sig == 15 ? 0x401000 : 0);
      sa->set_flags(sig == 15 ? 0x04000000 : 0);
      sa->set_restorer(sig == 15 ? 0x7f0000400000 : 0);
      sa->set_mask(0);
    }
    auto* rl = tc->mutable_rlimits();
    for (int i = 0; i < 16; i++) {
      auto* e = rl->add_rlimits();
      e->set_cur(i == 7 ? 1024 : ~0ULL);
      e->set_max(i == 7 ? 4096 : ~0ULL);
    }
  }
  auto* th = core.mutable_thread_core();
  th->set_futex_rla(0x7f0000002000 + tid);
  th->set_futex_rla_len(24);
  th->set_sched_nice(0);
  th->set_sched_policy(0);
  th->set_blk_sigset(leader ? 0 : 0x4000);
  th->set_comm(comm);
  auto* cr = th->mutable_creds();
  for (auto set : {&creds_entry::set_uid, &creds_entry::set_gid, &creds_entry::set_euid,
                   &creds_entry::set_egid, &creds_entry::set_suid, &creds_entry::set_sgid,
                   &creds_entry::set_fsuid, &creds_entry::set_fsgid})
    (cr->*set)(0);
  for (int i = 0; i < 2; i++) {
    cr->add_cap_inh(0);
    cr->add_cap_prm(0xffffffff);
    cr->add_cap_eff(0xffffffff);
    cr->add_cap_bnd(0xffffffff);
  }
  cr->set_secbits(0);
  return WriteSingleEntryImage(dir, ImageKind::kCore, tid, core);
}

vma_entry Vma(uint64_t start, uint64_t end, uint32_t prot, uint32_t flags, uint32_t status,
              uint64_t shmid) {
  vma_entry v;
  v.set_start(start);
  v.set_end(end);
  v.set_pgoff(0);
  v.set_shmid(shmid);
  v.set_prot(prot);
  v.set_flags(flags);
  v.set_status(status);
  v.set_fd(-1);
  return v;
}

Result<> WriteProcess(int dir, uint32_t pid, uint32_t pages_id, uint32_t files_id) {
  task_kobj_ids_entry ids;
  ids.set_vm_id(pid);
  ids.set_files_id(files_id);
  ids.set_fs_id(pid);
  ids.set_sighand_id(pid);
  ids.set_pid_ns_id(1);
  ids.set_net_ns_id(2);
  ids.set_ipc_ns_id(3);
  ids.set_uts_ns_id(4);
  ids.set_mnt_ns_id(5);
  CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kIds, pid, ids));

  mm_entry mm;
  uint64_t base = 0x400000;
  mm.set_mm_start_code(base);
  mm.set_mm_end_code(base + kPage);
  mm.set_mm_start_data(base + 2 * kPage);
  mm.set_mm_end_data(base + 3 * kPage);
  mm.set_mm_start_stack(0x7ffff000);
  mm.set_mm_start_brk(0x600000);
  mm.set_mm_brk(0x602000);
  mm.set_mm_arg_start(0x7fffe000);
  mm.set_mm_arg_end(0x7fffe010);
  mm.set_mm_env_start(0x7fffe010);
  mm.set_mm_env_end(0x7fffe100);
  mm.set_exe_file_id(1);
  for (uint64_t kv : {6ULL, 4096ULL, 0ULL, 0ULL}) mm.add_mm_saved_auxv(kv);
  *mm.add_vmas() = Vma(base, base + kPage, PROT_READ | PROT_EXEC, MAP_PRIVATE, (1 << 0) | (1 << 6), 1);
  *mm.add_vmas() = Vma(0x600000, 0x602000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       (1 << 0) | (1 << 5) | (1 << 9), 0);
  *mm.add_vmas() = Vma(0x7fffd000, 0x7ffff000, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, (1 << 0) | (1 << 1) | (1 << 9), 0);
  mm.mutable_vmas(2)->set_madv(1 << MADV_DONTFORK);
  mm.set_dumpable(1);
  CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kMm, pid, mm));

  ImageWriter pm(dir, ImageKind::kPagemap, pid);
  pagemap_head head;
  head.set_pages_id(pages_id);
  CRYO_TRY(pm.Write(head));
  ImageWriter pages(dir, ImageKind::kPages, pages_id);
  struct Run { uint64_t vaddr; uint32_t n; } runs[] = {{0x600000, 2}, {0x7fffe000, 1}};
  for (const Run& run : runs) {
    pagemap_entry e;
    e.set_vaddr(run.vaddr);
    e.set_nr_pages(run.n);
    e.set_nr_pages_64(run.n);
    e.set_flags(1 << 2);
    CRYO_TRY(pm.Write(e));
    std::string data(run.n * kPage, static_cast<char>(pid & 0x7f));
    CRYO_TRY(pages.WriteRaw(std::string_view(data)));
  }
  CRYO_TRY(pm.Close());
  CRYO_TRY(pages.Close());

  fs_entry fs;
  fs.set_cwd_id(2);
  fs.set_root_id(3);
  fs.set_umask(022);
  return WriteSingleEntryImage(dir, ImageKind::kFs, pid, fs);
}

reg_file_entry Reg(uint32_t id, const char* name, uint32_t flags, uint64_t pos) {
  reg_file_entry r;
  r.set_id(id);
  r.set_flags(flags);
  r.set_pos(pos);
  auto* fown = r.mutable_fown();
  fown->set_uid(0);
  fown->set_euid(0);
  fown->set_signum(0);
  fown->set_pid_type(0);
  fown->set_pid(0);
  r.set_name(name);
  r.set_mnt_id(25);
  r.set_size(1234);
  r.set_mode(0100644);
  return r;
}

Result<> WriteAll(const char* path) {
  UniqueFd dir = CRYO_TRY(OpenImageDir(path));
  int d = dir.get();

  pstree_entry parent;
  parent.set_pid(1000);
  parent.set_ppid(0);
  parent.set_pgid(1000);
  parent.set_sid(1000);
  parent.add_threads(1000);
  parent.add_threads(1001);
  pstree_entry child;
  child.set_pid(1002);
  child.set_ppid(1000);
  child.set_pgid(1000);
  child.set_sid(1000);
  child.add_threads(1002);
  {
    ImageWriter w(d, ImageKind::kPstree);
    CRYO_TRY(w.Write(parent));
    CRYO_TRY(w.Write(child));
    CRYO_TRY(w.Close());
  }
  CRYO_TRY(WriteCore(d, 1000, true, "sample-parent"));
  CRYO_TRY(WriteCore(d, 1001, false, "sample-thread"));
  CRYO_TRY(WriteCore(d, 1002, true, "sample-child"));
  CRYO_TRY(WriteProcess(d, 1000, 1, 1));
  CRYO_TRY(WriteProcess(d, 1002, 2, 2));

  {
    ImageWriter files(d, ImageKind::kFiles);
    struct F { uint32_t id; const char* name; uint32_t flags; uint64_t pos; } fl[] = {
        {1, "/usr/bin/sample", O_RDONLY, 0},
        {2, "/tmp", O_RDONLY | O_DIRECTORY, 0},
        {3, "/", O_RDONLY | O_DIRECTORY, 0},
        {4, "/tmp/sample log.txt", O_WRONLY | O_APPEND | O_CLOEXEC, 4096},
        {5, "/dev/null", O_RDWR, 0}};
    for (const F& f : fl) {
      file_entry fe;
      fe.set_type(REG);
      fe.set_id(f.id);
      *fe.mutable_reg() = Reg(f.id, f.name, f.flags, f.pos);
      CRYO_TRY(files.Write(fe));
    }
    CRYO_TRY(files.Close());
  }
  for (uint32_t files_id : {1u, 2u}) {
    ImageWriter w(d, ImageKind::kFdinfo, files_id);
    struct Fd { uint32_t fd, id, flags; } fds[] = {{0, 5, 0}, {1, 4, 0}, {2, 4, 0}, {7, 4, 1}};
    for (const Fd& f : fds) {
      fdinfo_entry e;
      e.set_id(f.id);
      e.set_flags(f.flags);
      e.set_type(REG);
      e.set_fd(f.fd);
      CRYO_TRY(w.Write(e));
    }
    CRYO_TRY(w.Close());
  }
  {
    stats_entry st;
    auto* ds = st.mutable_dump();
    ds->set_freezing_time(10);
    ds->set_frozen_time(2000);
    ds->set_memdump_time(300);
    ds->set_memwrite_time(200);
    ds->set_pages_scanned(6);
    ds->set_pages_skipped_parent(0);
    ds->set_pages_written(6);
    ds->set_pages_lazy(0);
    CRYO_TRY(WriteSingleEntryImage(d, ImageKind::kStatsDump, 0, st));
  }
  CRYO_TRY(SyncImageDir(d));
  inventory_entry inv;
  inv.set_img_version(2);
  inv.set_fdinfo_per_id(true);
  inv.set_ns_per_id(true);
  auto* ids = inv.mutable_root_ids();
  ids->set_vm_id(1000);
  ids->set_files_id(1);
  ids->set_fs_id(1000);
  ids->set_sighand_id(1000);
  inv.set_lsmtype(NO_LSM);
  inv.set_network_lock_method(1);
  return WriteSingleEntryImage(d, ImageKind::kInventory, 0, inv);
}

}  // namespace
}  // namespace cryo

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_sample_images DIR\n");
    return 2;
  }
  auto r = cryo::WriteAll(argv[1]);
  if (!r) {
    std::fprintf(stderr, "write_sample_images: %s\n", r.error().what().c_str());
    return 1;
  }
  return 0;
}
