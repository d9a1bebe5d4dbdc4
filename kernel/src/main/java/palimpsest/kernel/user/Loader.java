package palimpsest.kernel.user;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Paging;
import palimpsest.emulator.Routine;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Mark;
import palimpsest.kernel.Once;
import palimpsest.kernel.mm.MmStruct;
import palimpsest.kernel.mm.PageAlloc;
import palimpsest.kernel.patches.LegoSeries;
import palimpsest.kernel.sched.Task;

/**
 * exec: reads a PXE1 executable (see {@link UserProgram}) through the dcache, builds a fresh
 * address space (stack vma from {@code __bprm_mm_init}, text and data vmas, pages copied from the
 * file page by page, .bss), switches to it and drops to user mode at the entry point.
 *
 * <p>Two seed bugs of the LegoOS diary live here, each fixed by a patch: the stack vma allocated
 * with kmalloc instead of kzalloc (garbage {@code vm_ops}), and the .bss tail of the last file
 * page left holding whatever followed the data in the file.
 */
public final class Loader
{
    public static final long ENOENT = -2;
    public static final long ENOEXEC = -8;
    /** As Linux's bprm->buf: the first 128 bytes of the file are read to recognise its format. */
    public static final int BINPRM_BUF_SIZE = 128;
    /** The filename is copied to the top of the new stack (Linux's execfn), above the user's first SP. */
    private static final int EXECFN_ROOM = 64;

    private final Kernel k;
    private final Fn execveFn;
    private final Fn bprmMmInitFn;
    private final Fn loadBinaryFn;
    private final Fn padzeroFn;
    private final Fn startThreadFn;
    private final Fn copyStringsFn;

    public Loader(final Kernel k)
    {
        this.k = k;
        this.execveFn = k.text.fn("do_execve", 0x100);
        this.bprmMmInitFn = k.text.fn("__bprm_mm_init", 0x80);
        this.loadBinaryFn = k.text.fn("load_pxe_binary", 0x200);
        this.padzeroFn = k.text.fn("padzero", 0x40);
        this.startThreadFn = k.text.fn("start_thread", 0x40);
        this.copyStringsFn = k.text.fn("copy_strings", 0x60);
    }

    /** execve from user space. */
    public long sysExecve(final Cpu cpu, final long userPath)
    {
        final long kbuf = k.slab.kmalloc(cpu, 256);
        final long n = k.sys.strncpyFromUser(cpu, kbuf, userPath, 255);
        if (n < 0)
        {
            k.slab.kfree(cpu, kbuf);
            return n;
        }
        final long r = kernelExecve(cpu, kbuf);
        k.slab.kfree(cpu, kbuf);
        return r;
    }

    /** Execs the program at path (kernel memory); returns only on failure. */
    public long kernelExecve(final Cpu cpu, final long path)
    {
        if (k.lego != null && k.lego.isProcessor(cpu))
        {
            return k.lego.sys.execve(cpu, path);
        }
        execveFn.enter(cpu);
        final long dentry = k.vfs.pathLookup(cpu, path);
        if (dentry == 0)
        {
            return execveFn.leave(cpu, ENOENT);
        }
        final long hdr = k.slab.kmalloc(cpu, BINPRM_BUF_SIZE);
        k.vfs.kernelRead(cpu, dentry, 0, hdr, BINPRM_BUF_SIZE);
        if (cpu.load32(hdr) != UserProgram.MAGIC)
        {
            k.slab.kfree(cpu, hdr);
            return execveFn.leave(cpu, ENOEXEC);
        }
        final long entry = cpu.load64(hdr + 8);
        final long textVa = cpu.load64(hdr + 16);
        final long textSize = cpu.load64(hdr + 24);
        final long dataVa = cpu.load64(hdr + 32);
        final long dataSize = cpu.load64(hdr + 40);
        final long bssSize = cpu.load64(hdr + 48);
        final long textOff = cpu.load64(hdr + 56);
        k.slab.kfree(cpu, hdr);
        execveFn.at(cpu, 0x60);
        final long mm = bprmMmInit(cpu);
        loadBinary(cpu, mm, dentry, textVa, textSize, textOff, dataVa, dataSize, bssSize);
        // Point of no return: switch to the new address space.
        final long t = k.current(cpu);
        final long old = cpu.load64(t + Task.MM);
        cpu.store64(t + Task.MM, mm);
        cpu.store64(t + Task.ACTIVE_MM, mm);
        cpu.writeCr3(Layout.pa(cpu.load64(mm + MmStruct.PGD)));
        if (old != 0)
        {
            k.vm.mmput(cpu, old);
        }
        copyStrings(cpu, path);
        if (cpu.load64(t + Task.FILES) == 0)
        {
            cpu.store64(t + Task.FILES, k.vfs.allocFiles(cpu));
        }
        // WRITE_ONCE: a parent's do_wait reads the child's (stable) PF_THREAD bit under tasklist_lock while the child execs.
        Once.write64(cpu, t + Task.FLAGS, (cpu.load64(t + Task.FLAGS) & ~Task.PF_KTHREAD) | Task.PF_USER);
        final StringBuilder name = new StringBuilder();
        for (long p = path; ; p++)
        {
            final long c = cpu.load8(p);
            if (c == 0)
            {
                break;
            }
            if (c == '/')
            {
                name.setLength(0);
            }
            else
            {
                name.append((char)c);
            }
        }
        k.sched.setComm(cpu, t, name.toString());
        execveFn.leave(cpu);
        // The first entry to user mode after exec is a return to user mode too: freeze here.
        k.freezer.tryToFreeze(cpu);
        enterUser(cpu, entry, Layout.USER_STACK_TOP - 64);
        return 0;
    }

    /**
     * copy_strings: the filename onto the top of the new stack, byte by byte from kernel mode. The
     * first store faults the stack page in through handle_mm_fault on the stack vma of
     * {@code __bprm_mm_init} (LegoOS's Call Trace: faultin_page <- copy_strings <- exec_loader).
     */
    private void copyStrings(final Cpu cpu, final long path)
    {
        copyStringsFn.enter(cpu);
        final long dst = Layout.USER_STACK_TOP - EXECFN_ROOM;
        for (int i = 0; i < EXECFN_ROOM - 1; i++)
        {
            final long c = cpu.load8(path + i);
            cpu.store8(dst + i, c);
            if (c == 0)
            {
                break;
            }
        }
        cpu.store8(dst + EXECFN_ROOM - 1, 0);
        copyStringsFn.leave(cpu);
    }

    /** __bprm_mm_init: a new mm with its stack vma. */
    public long bprmMmInit(final Cpu cpu)
    {
        bprmMmInitFn.enter(cpu);
        final long mm = k.vm.mmAlloc(cpu);
        final long vma;
        if (k.patches.enabled("loader-kzalloc-vma") &&
            !LegoSeries.active(k.patches, "lego-loader-kmalloc-vma", "lego-loader-kzalloc-vma"))
        {
            vma = k.slab.kzalloc(cpu, MmStruct.VMA_SIZE);
        }
        else
        {
            // Every field we do not set below keeps what the previous owner of the memory left.
            vma = k.slab.kmalloc(cpu, MmStruct.VMA_SIZE);
        }
        bprmMmInitFn.at(cpu, 0x40);
        cpu.store64(vma + MmStruct.VM_START, Layout.USER_STACK_TOP - Layout.USER_STACK_SIZE);
        cpu.store64(vma + MmStruct.VM_END, Layout.USER_STACK_TOP);
        cpu.store64(vma + MmStruct.VM_FLAGS, MmStruct.VM_READ | MmStruct.VM_WRITE | MmStruct.VM_GROWSDOWN);
        cpu.store64(vma + MmStruct.VM_MM, mm);
        k.vm.insertVma(cpu, mm, vma);
        cpu.store64(mm + MmStruct.START_STACK, Layout.USER_STACK_TOP);
        return bprmMmInitFn.leave(cpu, mm);
    }

    public void loadBinary(final Cpu cpu, final long mm, final long dentry, final long textVa, final long textSize,
        final long textOff, final long dataVa, final long dataSize, final long bssSize)
    {
        loadBinaryFn.enter(cpu);
        final long pgd = Layout.pa(cpu.load64(mm + MmStruct.PGD));
        final long text = k.vm.newVma(cpu, mm, textVa, textVa + textSize, MmStruct.VM_READ | MmStruct.VM_EXEC);
        cpu.store64(text + MmStruct.VM_OPS, palimpsest.kernel.Globals.GENERIC_VM_OPS);
        k.vm.insertVma(cpu, mm, text);
        for (long off = 0; off < textSize; off += Layout.PAGE_SIZE)
        {
            loadBinaryFn.at(cpu, 0x40);
            mapFilePage(cpu, pgd, dentry, textOff + off, textVa + off, Paging.P | Paging.U);
        }
        final long dataEnd = dataVa + dataSize;
        final long end = (dataEnd + bssSize + Layout.PAGE_SIZE - 1) & ~(Layout.PAGE_SIZE - 1);
        if (end > dataVa)
        {
            final long data = k.vm.newVma(cpu, mm, dataVa, end, MmStruct.VM_READ | MmStruct.VM_WRITE);
            k.vm.insertVma(cpu, mm, data);
            final long dataOff = textOff + textSize;
            long lastPage = 0;
            for (long off = 0; off < dataSize; off += Layout.PAGE_SIZE)
            {
                loadBinaryFn.at(cpu, 0x80);
                lastPage = mapFilePage(cpu, pgd, dentry, dataOff + off, dataVa + off, Paging.P | Paging.U | Paging.W | Paging.NX);
            }
            final boolean tail = lastPage != 0 && (dataEnd & Layout.PAGE_MASK()) != 0;
            if (tail && k.patches.enabled("loader-clear-bss"))
            {
                if (k.lego != null)
                {
                    // LegoOS's memory component: through the user address, as lego_clear_user does.
                    k.lego.mc.clearUser(cpu, mm, dataEnd, Layout.PAGE_SIZE - (dataEnd & Layout.PAGE_MASK()));
                }
                else
                {
                    padzero(cpu, lastPage, dataEnd & Layout.PAGE_MASK());
                }
            }
            if (tail)
            {
                // The ELF promise, stated after the place that keeps it: these bytes are .bss now.
                cpu.mark(Mark.ZERO_FILL, lastPage + (dataEnd & Layout.PAGE_MASK()), Layout.PAGE_SIZE - (dataEnd & Layout.PAGE_MASK()));
            }
            // The rest of .bss is anonymous memory, zero-filled on first touch.
        }
        cpu.store64(mm + MmStruct.START_CODE, textVa);
        cpu.store64(mm + MmStruct.END_DATA, dataEnd);
        loadBinaryFn.leave(cpu);
    }

    /** Copies one page of the file (whatever the file holds there, up to its end) into a new user page. */
    private long mapFilePage(final Cpu cpu, final long pgd, final long dentry, final long fileOff, final long va, final long flags)
    {
        final long page = k.pages.allocPage(cpu);
        final long dst = PageAlloc.pageAddress(page);
        final long size = k.vfs.fileSize(cpu, dentry);
        for (long i = 0; i < Layout.PAGE_SIZE; i += 8)
        {
            final long at = fileOff + i;
            long v = 0;
            if (at < size)
            {
                final long src = k.vfs.filePage(cpu, dentry, at);
                v = cpu.load64(PageAlloc.pageAddress(src) + (at & Layout.PAGE_MASK()));
                if (size - at < 8)
                {
                    v &= (1L << ((size - at) * 8)) - 1;
                }
            }
            cpu.store64(dst + i, v);
        }
        k.pt.map(cpu, pgd, va, PageAlloc.pagePhys(page), flags, true);
        return dst;
    }

    /** Zeroes a page from offset to its end (the .bss part of the last data page). */
    private void padzero(final Cpu cpu, final long pageVa, final long offset)
    {
        padzeroFn.enter(cpu);
        for (long i = offset; i < Layout.PAGE_SIZE; i++)
        {
            cpu.store8(pageVa + i, 0);
        }
        padzeroFn.leave(cpu);
    }

    /**
     * start_thread + iret to user mode: cpl 3, user stack, entry routine. The caller has done the
     * return-to-user work (try_to_freeze) already: the general registers live in the core, so
     * nothing may schedule between loading them and entering user mode. If the routine returns
     * (as main returns into the C runtime), the task exits with rax.
     */
    public void enterUser(final Cpu cpu, final long entry, final long userSp)
    {
        startThreadFn.enter(cpu);
        final Routine r = cpu.machine().code().routineAt(entry);
        if (r == null)
        {
            k.printk.printk(cpu, k.sched.comm(cpu, k.current(cpu)) + ": bad entry point " + Long.toHexString(entry));
            k.sched.doExit(cpu, 139);
        }
        cpu.cli();
        cpu.pc(entry);
        cpu.setPrivilege(3);
        cpu.setSp(userSp);
        cpu.setFp(0);
        cpu.sti();
        r.run(cpu);
        U.exit(cpu, cpu.reg(Syscalls.RAX));
    }
}
