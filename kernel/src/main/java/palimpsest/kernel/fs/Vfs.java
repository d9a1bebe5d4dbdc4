package palimpsest.kernel.fs;

import palimpsest.emulator.Cpu;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Layout;
import palimpsest.kernel.Lists;
import palimpsest.kernel.Uses;
import palimpsest.kernel.arch.Initrd;
import palimpsest.kernel.mm.PageAlloc;
import palimpsest.kernel.sched.Task;
import palimpsest.kernel.user.Syscalls;

/**
 * A RAM file system behind a dentry cache. Dentries hang on hash chains (hlist) of a table
 * allocated from the buddy allocator; {@code __d_lookup} walks a chain comparing hash, parent and
 * name bytes, all loads from emulated memory. File data lives in buddy pages listed by the inode.
 *
 * <pre>
 * dentry (cache "dentry", 128)        inode (cache "inode", 96)     file (cache "filp", 64)
 *   +0  d_hash.next  +8 d_hash.pprev    +0  i_ino                      +0  f_dentry
 *   +16 d_parent                        +8  i_mode                     +8  f_inode
 *   +24 d_name.hash (4) +28 len (4)     +16 i_size                     +16 f_pos
 *   +32 d_name.name  (-> d_iname)       +24 i_pages (page * array)     +24 f_count
 *   +40 d_inode                         +32 i_nrpages                  +32 f_flags
 *   +48 d_iname[32]                     +40 i_count                    +40 f_op
 *   +80 d_count                         +48 i_fop
 *   +88 d_subdirs   +96 d_sibling
 * files_struct (cache "files_cache"): +0 count, +8 fd[16]
 * </pre>
 */
public final class Vfs
{
    public static final int D_HASH_NEXT = 0;
    public static final int D_HASH_PPREV = 8;
    public static final int D_PARENT = 16;
    public static final int D_HASH = 24;
    public static final int D_LEN = 28;
    public static final int D_NAME = 32;
    public static final int D_INODE = 40;
    public static final int D_INAME = 48;
    public static final int D_COUNT = 80;
    public static final int D_SUBDIRS = 88;
    public static final int D_SIBLING = 96;
    public static final int DENTRY_SIZE = 128;

    public static final int I_INO = 0;
    public static final int I_MODE = 8;
    public static final int I_SIZE = 16;
    public static final int I_PAGES = 24;
    public static final int I_NRPAGES = 32;
    public static final int I_COUNT = 40;
    public static final int I_FOP = 48;
    /** The major of a character-device node (mknod). */
    public static final int I_RDEV = 56;
    public static final int INODE_SIZE = 96;

    public static final int F_DENTRY = 0;
    public static final int F_INODE = 8;
    public static final int F_POS = 16;
    public static final int F_COUNT = 24;
    public static final int F_FLAGS = 32;
    public static final int F_OP = 40;
    public static final int FILE_SIZE = 64;

    public static final int NR_OPEN = 16;
    public static final int FILES_SIZE = 8 + NR_OPEN * 8;

    public static final long S_IFDIR = 0x4000;
    public static final long S_IFREG = 0x8000;
    public static final long S_IFCHR = 0x2000;
    public static final int D_HASH_BITS = 8;

    public static final long ENOENT = -2;
    public static final long EBADF = -9;
    public static final long EINVAL = -22;
    public static final long EMFILE = -24;
    public static final long EFAULT = -14;

    private final Kernel k;
    private final int dentryCache;
    private final int inodeCache;
    private final int filpCache;
    private final int filesCache;
    private final Fn dLookupFn;
    private final Fn dLookupLockedFn;
    private final Fn dAllocFn;
    private final Fn pathLookupFn;
    private final Fn unpackFn;
    private final Fn openFn;
    private final Fn readFn;
    private final Fn closeFn;
    private final Fn ramfsReadFn;

    public Vfs(final Kernel k)
    {
        this.k = k;
        this.dentryCache = k.slab.define("dentry", DENTRY_SIZE);
        this.inodeCache = k.slab.define("inode_cache", INODE_SIZE);
        this.filpCache = k.slab.define("filp", FILE_SIZE);
        this.filesCache = k.slab.define("files_cache", FILES_SIZE);
        this.dLookupFn = k.text.fn("d_lookup", 0x60);
        this.dLookupLockedFn = k.text.fn("__d_lookup", 0x100);
        this.dAllocFn = k.text.fn("d_alloc", 0x80);
        this.pathLookupFn = k.text.fn("path_lookup", 0x100);
        this.unpackFn = k.text.fn("populate_rootfs", 0x100);
        this.openFn = k.text.fn("sys_open", 0x100);
        this.readFn = k.text.fn("sys_read", 0x80);
        this.closeFn = k.text.fn("sys_close", 0x60);
        this.ramfsReadFn = k.text.fn("ramfs_read", 0x100, this::ramfsReadBody);
    }

    /** The ramfs read function (f_op->read), for the image's static file_operations. */
    public Fn readFn()
    {
        return ramfsReadFn;
    }

    // ------------------------------------------------------------------ boot

    public void init(final Cpu cpu, final long initrd, final long size)
    {
        unpackFn.enter(cpu);
        final long table = k.pages.getZeroedPage(cpu);
        cpu.store64(Globals.DENTRY_HASHTABLE, table);
        cpu.store64(Globals.D_HASH_MASK, (1L << D_HASH_BITS) - 1);
        cpu.store64(Globals.NEXT_INO, 1);
        final long rootInode = newInode(cpu, S_IFDIR);
        final long root = k.slab.zalloc(cpu, dentryCache);
        cpu.store64(root + D_NAME, root + D_INAME);
        cpu.store8(root + D_INAME, '/');
        cpu.store32(root + D_LEN, 1);
        cpu.store64(root + D_PARENT, root);
        cpu.store64(root + D_INODE, rootInode);
        cpu.store64(root + D_COUNT, 1);
        cpu.store64(Globals.ROOT_DENTRY, root);
        long p = initrd;
        int files = 0;
        long bytes = 0;
        while (p < initrd + size && cpu.load32(p) == Initrd.MAGIC)
        {
            unpackFn.at(cpu, 0x40);
            final int nameLen = (int)cpu.load32(p + 4);
            final long dataLen = cpu.load64(p + 8);
            if (nameLen == 0)
            {
                break;
            }
            final long name = p + 16;
            final long data = name + ((nameLen + 7) & ~7);
            createFile(cpu, name, nameLen, data, dataLen);
            files++;
            bytes += dataLen;
            p = data + ((dataLen + 7) & ~7L);
        }
        k.printk.printk(cpu, "Unpacking initramfs... " + files + " files, " + bytes + " bytes");
        unpackFn.leave(cpu);
    }

    private long newInode(final Cpu cpu, final long mode)
    {
        final long inode = k.slab.zalloc(cpu, inodeCache);
        cpu.store64(inode + I_INO, cpu.xadd(k.spin.atomicSite(), Globals.NEXT_INO, 8, 1));
        cpu.store64(inode + I_MODE, mode);
        cpu.store64(inode + I_COUNT, 1);
        cpu.store64(inode + I_FOP, Globals.RAMFS_FOPS);
        return inode;
    }

    /** mknod: a node of this mode at path (relative to /, directories made on the way), i_rdev = major. */
    public void mknod(final Cpu cpu, final String path, final long mode, final long major)
    {
        final long buf = k.slab.kmalloc(cpu, path.length() + 1);
        for (int i = 0; i < path.length(); i++)
        {
            cpu.store8(buf + i, path.charAt(i));
        }
        cpu.store8(buf + path.length(), 0);
        final long inode = createNode(cpu, buf, path.length(), 0, 0, mode);
        if (inode != 0)
        {
            cpu.store64(inode + I_RDEV, major);
        }
        k.slab.kfree(cpu, buf);
    }

    /** Creates /a/b/c (directories on the way) with the data at [data, data + len). */
    private void createFile(final Cpu cpu, final long path, final int pathLen, final long data, final long len)
    {
        createNode(cpu, path, pathLen, data, len, S_IFREG);
    }

    /** The last component's inode if this call made it, else 0 (it existed). */
    private long createNode(final Cpu cpu, final long path, final int pathLen, final long data, final long len, final long mode)
    {
        long made = 0;
        long parent = cpu.load64(Globals.ROOT_DENTRY);
        int i = 0;
        while (i < pathLen)
        {
            while (i < pathLen && cpu.load8(path + i) == '/')
            {
                i++;
            }
            final int start = i;
            long hash = 0;
            while (i < pathLen && cpu.load8(path + i) != '/')
            {
                hash = partialNameHash(cpu.load8(path + i), hash);
                i++;
            }
            if (i == start)
            {
                break;
            }
            final boolean last = i >= pathLen;
            final long h = hash & 0xFFFF_FFFFL;
            long d = dLookup(cpu, parent, path + start, i - start, h);
            if (d == 0)
            {
                d = dAlloc(cpu, parent, path + start, i - start, h);
                final long inode = newInode(cpu, last ? mode : S_IFDIR);
                cpu.store64(d + D_INODE, inode);
                if (last && mode == S_IFREG)
                {
                    fillInode(cpu, inode, data, len);
                }
                if (last)
                {
                    made = inode;
                }
            }
            parent = d;
        }
        return made;
    }

    private void fillInode(final Cpu cpu, final long inode, final long data, final long len)
    {
        final long nPages = (len + Layout.PAGE_SIZE - 1) / Layout.PAGE_SIZE;
        final long array = k.slab.kzalloc(cpu, Math.max(8, nPages * 8));
        for (long pg = 0; pg < nPages; pg++)
        {
            final long page = k.pages.allocPage(cpu);
            final long va = PageAlloc.pageAddress(page);
            final long n = Math.min(Layout.PAGE_SIZE, len - pg * Layout.PAGE_SIZE);
            for (long off = 0; off < Layout.PAGE_SIZE; off += 8)
            {
                cpu.store64(va + off, off < n ? cpu.load64(data + pg * Layout.PAGE_SIZE + off) : 0);
            }
            cpu.store64(array + pg * 8, page);
        }
        cpu.store64(inode + I_PAGES, array);
        cpu.store64(inode + I_NRPAGES, nPages);
        cpu.store64(inode + I_SIZE, len);
    }

    // ------------------------------------------------------------------ the dentry cache

    /** The old Linux partial_name_hash. */
    static long partialNameHash(final long c, final long prev)
    {
        return ((prev + (c << 4) + (c >>> 4)) * 11) & 0xFFFF_FFFFL;
    }

    private static long bucketIndex(final long parent, final long hash, final long mask)
    {
        long h = hash ^ ((parent >>> 4) * 0x9e37fffffffc0001L >>> 32);
        h = h ^ (h >>> D_HASH_BITS);
        return h & mask;
    }

    /** d_alloc + d_rehash: a new dentry, linked at the head of its hash chain and into its parent. */
    private long dAlloc(final Cpu cpu, final long parent, final long name, final int len, final long hash)
    {
        dAllocFn.enter(cpu);
        final long d = k.slab.zalloc(cpu, dentryCache);
        for (int i = 0; i < len && i < 31; i++)
        {
            cpu.store8(d + D_INAME + i, cpu.load8(name + i));
        }
        cpu.store64(d + D_NAME, d + D_INAME);
        cpu.store32(d + D_HASH, hash);
        cpu.store32(d + D_LEN, Math.min(len, 31));
        cpu.store64(d + D_PARENT, parent);
        cpu.store64(d + D_COUNT, 1);
        cpu.store64(d + D_SIBLING, cpu.load64(parent + D_SUBDIRS));
        cpu.store64(parent + D_SUBDIRS, d);
        final long table = cpu.load64(Globals.DENTRY_HASHTABLE);
        final long head = table + bucketIndex(parent, hash, cpu.load64(Globals.D_HASH_MASK)) * 8;
        final boolean f = k.spin.lockIrqSave(cpu, Globals.DCACHE_LOCK);
        Lists.hlistAddHead(cpu, d + D_HASH_NEXT, head);
        k.spin.unlockIrqRestore(cpu, Globals.DCACHE_LOCK, f);
        return dAllocFn.leave(cpu, d);
    }

    public long dLookup(final Cpu cpu, final long parent, final long name, final int len, final long hash)
    {
        dLookupFn.enter(cpu);
        final boolean f = k.spin.lockIrqSave(cpu, Globals.DCACHE_LOCK);
        final long d = dLookupLocked(cpu, parent, name, len, hash);
        k.spin.unlockIrqRestore(cpu, Globals.DCACHE_LOCK, f);
        return dLookupFn.leave(cpu, d);
    }

    /** __d_lookup: walks the hash chain; a corrupted chain pointer is dereferenced right here. */
    private long dLookupLocked(final Cpu cpu, final long parent, final long name, final int len, final long hash)
    {
        dLookupLockedFn.enter(cpu);
        final long table = cpu.load64(Globals.DENTRY_HASHTABLE);
        final long head = table + bucketIndex(parent, hash, cpu.load64(Globals.D_HASH_MASK)) * 8;
        dLookupLockedFn.at(cpu, 0x20);
        long node = cpu.load64(head);
        while (node != 0)
        {
            final long d = node - D_HASH_NEXT;
            dLookupLockedFn.at(cpu, 0x44);
            // hlist_for_each_entry_rcu: prefetch(pos->next) at the top of every iteration (Ingo: "the
            // prefetch instructions are patched in"); a corrupted pos faults right here, as in
            // Rafael's oops. The patch "RCU, list.h: fix list iterators" (rcu-list-iterators) moves
            // rcu_dereference() from the local variable to the loads of ->next; on x86 that is a
            // compiler-level change with the same instructions (Herbert: "Semantically there
            // should be no difference"), so it changes no event here: noise a bisect steps over.
            cpu.load64(node + Lists.NEXT);
            if (cpu.load32(d + D_HASH) == hash)
            {
                dLookupLockedFn.at(cpu, 0x50);
                if (cpu.load64(d + D_PARENT) == parent && cpu.load32(d + D_LEN) == len)
                {
                    dLookupLockedFn.at(cpu, 0x68);
                    final long dname = cpu.load64(d + D_NAME);
                    int i = 0;
                    while (i < len && cpu.load8(dname + i) == cpu.load8(name + i))
                    {
                        i++;
                    }
                    if (i == len)
                    {
                        return dLookupLockedFn.leave(cpu, d);
                    }
                }
            }
            dLookupLockedFn.at(cpu, 0x90);
            node = cpu.load64(node + Lists.NEXT);
        }
        return dLookupLockedFn.leave(cpu, 0);
    }

    /** path_lookup: walks an absolute path held in kernel memory (NUL-terminated). Returns the dentry or 0. */
    public long pathLookup(final Cpu cpu, final long path)
    {
        pathLookupFn.enter(cpu);
        long d = cpu.load64(Globals.ROOT_DENTRY);
        long p = path;
        while (true)
        {
            if (k.patches.enabled("path-lookup-slashes"))
            {
                long c0;
                while ((c0 = cpu.load8(p)) == '/')
                {
                    p++;
                }
                if (c0 == 0)
                {
                    return pathLookupFn.leave(cpu, d);
                }
            }
            while (cpu.load8(p) == '/')
            {
                p++;
            }
            if (cpu.load8(p) == 0)
            {
                return pathLookupFn.leave(cpu, d);
            }
            final long start = p;
            long hash = 0;
            long c;
            while ((c = cpu.load8(p)) != 0 && c != '/')
            {
                hash = partialNameHash(c, hash);
                p++;
            }
            pathLookupFn.at(cpu, 0x60);
            d = dLookup(cpu, d, start, (int)(p - start), hash & 0xFFFF_FFFFL);
            if (d == 0)
            {
                return pathLookupFn.leave(cpu, 0);
            }
        }
    }

    // ------------------------------------------------------------------ files

    public long allocFiles(final Cpu cpu)
    {
        final long files = k.slab.zalloc(cpu, filesCache);
        cpu.store64(files, 1);
        return files;
    }

    /** Fork: a copy of the fd table sharing the open files. */
    public long dupFiles(final Cpu cpu, final long old)
    {
        final long files = allocFiles(cpu);
        if (old == 0)
        {
            return files;
        }
        for (int i = 0; i < NR_OPEN; i++)
        {
            final long f = cpu.load64(old + 8 + i * 8L);
            if (f != 0)
            {
                cpu.xadd(k.spin.atomicSite(), f + F_COUNT, 8, 1);
                cpu.store64(files + 8 + i * 8L, f);
            }
        }
        return files;
    }

    public void exitFiles(final Cpu cpu, final long task)
    {
        final long files = cpu.load64(task + Task.FILES);
        if (files == 0)
        {
            return;
        }
        cpu.store64(task + Task.FILES, 0);
        if (cpu.xadd(k.spin.atomicSite(), files, 8, -1) == 1)
        {
            for (int i = 0; i < NR_OPEN; i++)
            {
                final long f = cpu.load64(files + 8 + i * 8L);
                if (f != 0)
                {
                    fput(cpu, f);
                }
            }
            k.slab.free(cpu, files);
        }
    }

    private void fput(final Cpu cpu, final long file)
    {
        if (cpu.xadd(k.spin.atomicSite(), file + F_COUNT, 8, -1) == 1)
        {
            k.slab.free(cpu, file);
        }
    }

    /** open(path): looks the path up in the dcache and installs a file in the lowest free fd. */
    public long sysOpen(final Cpu cpu, final long userPath)
    {
        openFn.enter(cpu);
        final long task = k.current(cpu);
        final long kbuf = k.slab.kmalloc(cpu, 256);
        final long n = k.sys.strncpyFromUser(cpu, kbuf, userPath, 255);
        if (n < 0)
        {
            k.slab.kfree(cpu, kbuf);
            return openFn.leave(cpu, EFAULT);
        }
        openFn.at(cpu, 0x40);
        final long d = pathLookup(cpu, kbuf);
        k.slab.kfree(cpu, kbuf);
        if (d == 0)
        {
            return openFn.leave(cpu, ENOENT);
        }
        final long files = cpu.load64(task + Task.FILES);
        int fd = -1;
        for (int i = 0; i < NR_OPEN; i++)
        {
            if (cpu.load64(files + 8 + i * 8L) == 0)
            {
                fd = i;
                break;
            }
        }
        if (fd < 0)
        {
            return openFn.leave(cpu, EMFILE);
        }
        openFn.at(cpu, 0x80);
        final long inode = cpu.load64(d + D_INODE);
        final long file = k.slab.zalloc(cpu, filpCache);
        cpu.store64(file + F_DENTRY, d);
        cpu.store64(file + F_INODE, inode);
        cpu.store64(file + F_COUNT, 1);
        cpu.store64(file + F_OP, cpu.load64(inode + I_FOP));
        if (cpu.load64(inode + I_MODE) == S_IFCHR)
        {
            final long r = k.chrdevs.open(cpu, inode, file);
            if (r < 0)
            {
                k.slab.free(cpu, file);
                return openFn.leave(cpu, r);
            }
        }
        cpu.store64(files + 8 + fd * 8L, file);
        return openFn.leave(cpu, fd);
    }

    private long fdGet(final Cpu cpu, final long fd)
    {
        if (fd < 0 || fd >= NR_OPEN)
        {
            return 0;
        }
        final long files = cpu.load64(k.current(cpu) + Task.FILES);
        return files == 0 ? 0 : cpu.load64(files + 8 + fd * 8);
    }

    /** read(fd, buf, count): through the file's f_op->read, an indirect call. */
    public long sysRead(final Cpu cpu, final long fd, final long buf, final long count)
    {
        readFn.enter(cpu);
        final long file = fdGet(cpu, fd);
        if (file == 0)
        {
            return readFn.leave(cpu, EBADF);
        }
        if (!k.vm.accessOk(cpu, cpu.load64(k.current(cpu) + Task.MM), buf, count, true))
        {
            return readFn.leave(cpu, EFAULT);
        }
        final long fop = cpu.load64(file + F_OP);
        readFn.at(cpu, 0x40);
        final long read = cpu.load64(fop);
        if (read == 0)
        {
            return readFn.leave(cpu, EINVAL); // a driver without read
        }
        final long r = k.callIndirect(cpu, read, file, buf, count);
        return readFn.leave(cpu, r);
    }

    /** ramfs_read(file, buf, count): copies from the inode's pages to user memory. */
    private void ramfsReadBody(final Cpu cpu)
    {
        ramfsReadFn.prologue(cpu);
        final long file = cpu.reg(Syscalls.RDI);
        final long buf = cpu.reg(Syscalls.RSI);
        final long count = cpu.reg(Syscalls.RDX);
        final long inode = cpu.load64(file + F_INODE);
        // i_size bounds the copy: a length.
        final long size = Uses.length64(cpu, inode + I_SIZE);
        final long pos = cpu.load64(file + F_POS);
        final long n = Math.max(0, Math.min(count, size - pos));
        final long pages = cpu.load64(inode + I_PAGES);
        long done = 0;
        while (done < n)
        {
            ramfsReadFn.at(cpu, 0x60);
            final long at = pos + done;
            final long page = cpu.load64(pages + (at / Layout.PAGE_SIZE) * 8);
            final long off = at % Layout.PAGE_SIZE;
            final long chunk = Math.min(n - done, Layout.PAGE_SIZE - off);
            k.vm.copyToUser(cpu, buf + done, PageAlloc.pageAddress(page) + off, chunk);
            done += chunk;
        }
        cpu.store64(file + F_POS, pos + n);
        cpu.setReg(Syscalls.RAX, n);
        ramfsReadFn.leave(cpu);
    }

    public long sysClose(final Cpu cpu, final long fd)
    {
        closeFn.enter(cpu);
        final long file = fdGet(cpu, fd);
        if (file == 0)
        {
            return closeFn.leave(cpu, EBADF);
        }
        final long files = cpu.load64(k.current(cpu) + Task.FILES);
        cpu.store64(files + 8 + fd * 8, 0);
        if (isCharDev(cpu, file) && cpu.load64(file + F_COUNT) == 1)
        {
            k.chrdevs.call(cpu, file, palimpsest.kernel.module.CharDevs.FOP_RELEASE, cpu.load64(file + F_INODE), file, 0, 0);
        }
        fput(cpu, file);
        return closeFn.leave(cpu, 0);
    }

    /** The open file of fd in the current task, or 0. */
    public long fileOf(final Cpu cpu, final long fd)
    {
        return fdGet(cpu, fd);
    }

    public boolean isCharDev(final Cpu cpu, final long file)
    {
        return cpu.load64(cpu.load64(file + F_INODE) + I_MODE) == S_IFCHR;
    }

    /** ioctl(fd, cmd, arg): a char device's unlocked_ioctl; -ENOTTY for anything else. */
    public long sysIoctl(final Cpu cpu, final long fd, final long cmd, final long arg)
    {
        final long file = fdGet(cpu, fd);
        if (file == 0)
        {
            return EBADF;
        }
        if (!isCharDev(cpu, file))
        {
            return palimpsest.kernel.module.CharDevs.ENOTTY;
        }
        return k.chrdevs.call(cpu, file, palimpsest.kernel.module.CharDevs.FOP_IOCTL, file, cmd, arg, palimpsest.kernel.module.CharDevs.ENOTTY);
    }

    /** kernel_read for the loader: reads len bytes at pos of a dentry's file into kernel memory. */
    public long kernelRead(final Cpu cpu, final long dentry, final long pos, final long kbuf, final long len)
    {
        final long inode = cpu.load64(dentry + D_INODE);
        final long size = cpu.load64(inode + I_SIZE);
        final long n = Math.max(0, Math.min(len, size - pos));
        final long pages = cpu.load64(inode + I_PAGES);
        for (long i = 0; i < n; i++)
        {
            final long at = pos + i;
            final long page = cpu.load64(pages + (at / Layout.PAGE_SIZE) * 8);
            cpu.store8(kbuf + i, cpu.load8(PageAlloc.pageAddress(page) + at % Layout.PAGE_SIZE));
        }
        return n;
    }

    /** The page of a file holding byte pos (the loader maps file pages by copying them). */
    public long filePage(final Cpu cpu, final long dentry, final long pos)
    {
        final long inode = cpu.load64(dentry + D_INODE);
        if (pos >= cpu.load64(inode + I_SIZE))
        {
            return 0;
        }
        return cpu.load64(cpu.load64(inode + I_PAGES) + (pos / Layout.PAGE_SIZE) * 8);
    }

    public long fileSize(final Cpu cpu, final long dentry)
    {
        return cpu.load64(cpu.load64(dentry + D_INODE) + I_SIZE);
    }
}
