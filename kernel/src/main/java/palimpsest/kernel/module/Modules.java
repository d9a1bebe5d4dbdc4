package palimpsest.kernel.module;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Routine;
import palimpsest.kernel.Fn;
import palimpsest.kernel.Globals;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.Lists;
import palimpsest.kernel.Mark;
import palimpsest.kernel.mm.PageTable;
import palimpsest.kernel.user.Syscalls;

/**
 * Loadable modules: {@code load_module} / {@code delete_module} (system calls init_module and
 * delete_module take a module name; the "files" are the {@link Module}s registered by name).
 * Module text comes from {@code module_alloc}: buddy pages mapped in the module area
 * PAGE_KERNEL_EXEC (writable and executable, as 2.6.25 on x86-64). Its functions are registered
 * in the machine's code map while it is loaded, so PCs in it symbolize live; a small symtab and
 * strtab in memory let post-mortem tools ({@code KernelInspector}) do the same from RAM alone.
 *
 * <pre>
 * struct module (kmalloc-256, zeroed)
 *   +0   list.next  +8 list.prev      on the modules list (Globals.MODULES)
 *   +16  name[56]
 *   +72  module_core (text base)      +80 core_size (page aligned)
 *   +88  num_smp_locks                +96 smp_locks: kmalloc'ed array of LOCK-prefix site addresses
 *   +104 num_symtab                   +112 symtab: kmalloc'ed { value 8, size 8, st_name 8 } x n
 *   +120 strtab: kmalloc'ed NUL-terminated names (st_name is an offset into it)
 *   +128 init (function address)      +136 exit (function address)
 *   +144 state (1 live, 2 going)      +152 private (the driver's data)
 * </pre>
 */
public final class Modules
{
    public static final int M_LIST = 0;
    public static final int M_NAME = 16;
    public static final int M_NAME_LEN = 56;
    public static final int M_CORE = 72;
    public static final int M_CORE_SIZE = 80;
    public static final int M_NUM_LOCKS = 88;
    public static final int M_LOCKS = 96;
    public static final int M_NUM_SYMTAB = 104;
    public static final int M_SYMTAB = 112;
    public static final int M_STRTAB = 120;
    public static final int M_INIT = 128;
    public static final int M_EXIT = 136;
    public static final int M_STATE = 144;
    public static final int M_PRIVATE = 152;
    public static final int MODULE_SIZE = 160;
    public static final int SYM_SIZE = 24;

    public static final long MODULE_STATE_LIVE = 1;
    public static final long MODULE_STATE_GOING = 2;

    public static final long ENOENT = -2;
    public static final long EEXIST = -17;
    public static final long EFAULT = -14;

    private static final long NOPS = 0x9090_9090_9090_9090L;

    private final Kernel k;
    /** The driver core modules call into. */
    public final DriverCore drivers;
    private final Map<String, Supplier<? extends Module>> available = new TreeMap<>();
    private final Fn loadFn;
    private final Fn deleteFn;
    private final Fn findFn;
    private final Fn isModuleTextFn;

    public Modules(final Kernel k)
    {
        this.k = k;
        this.drivers = new DriverCore(k);
        this.loadFn = k.text.fn("load_module", 0x200);
        this.deleteFn = k.text.fn("sys_delete_module", 0x100);
        this.findFn = k.text.fn("find_module", 0x60);
        this.isModuleTextFn = k.text.fn("__module_text_address", 0x60);
    }

    /** Makes a module loadable by name (like a .ko under /lib/modules). */
    public void register(final String name, final Supplier<? extends Module> code)
    {
        available.put(name, code);
    }

    public void init(final Cpu cpu)
    {
        Lists.init(cpu, Globals.MODULES);
        drivers.init(cpu);
    }

    // ------------------------------------------------------------------ system calls

    public long sysInitModule(final Cpu cpu, final long userName)
    {
        final String name = userString(cpu, userName);
        return name == null ? EFAULT : loadModule(cpu, name);
    }

    public long sysDeleteModule(final Cpu cpu, final long userName)
    {
        final String name = userString(cpu, userName);
        return name == null ? EFAULT : deleteModule(cpu, name);
    }

    private String userString(final Cpu cpu, final long user)
    {
        final long kbuf = k.slab.kmalloc(cpu, 64);
        final long n = k.sys.strncpyFromUser(cpu, kbuf, user, M_NAME_LEN - 1);
        String s = null;
        if (n >= 0)
        {
            final StringBuilder sb = new StringBuilder();
            for (int i = 0; i < n; i++)
            {
                sb.append((char)cpu.load8(kbuf + i));
            }
            s = sb.toString();
        }
        k.slab.kfree(cpu, kbuf);
        return s;
    }

    // ------------------------------------------------------------------ load and unload

    /** load_module + do_init_module: returns 0, or -errno. */
    public long loadModule(final Cpu cpu, final String name)
    {
        loadFn.enter(cpu);
        final Supplier<? extends Module> code = available.get(name);
        if (code == null)
        {
            return loadFn.leave(cpu, ENOENT);
        }
        k.spin.lock(cpu, Globals.MODULE_MUTEX);
        if (findModule(cpu, name) != 0)
        {
            k.spin.unlock(cpu, Globals.MODULE_MUTEX);
            return loadFn.leave(cpu, EEXIST);
        }
        // Lay the module out once to learn its size (the .ko's section sizes), then for real at
        // the address module_alloc gives.
        final Module.Image probe = new Module.Image(0);
        code.get().define(probe);
        final long size = probe.size() + 0x80;
        final long text = k.vm.moduleAlloc(cpu, size, PageTable.PAGE_KERNEL_EXEC);
        final Module m = code.get();
        final Module.Image img = new Module.Image(text);
        m.define(img);
        final long mod = k.slab.kzalloc(cpu, MODULE_SIZE);
        final Fn initFn = img.fn(name + "_init_module", 0x40, null);
        final Fn exitFn = img.fn(name + "_exit_module", 0x40, null);
        loadFn.at(cpu, 0x40);
        // Copy the text in (NOPs, LOCK prefixes at the sites): stores through the module mapping.
        for (long off = 0; off < img.size(); off += 8)
        {
            cpu.store64(text + off, NOPS);
        }
        for (final long s : img.lockSites)
        {
            cpu.store8(s, Cpu.LOCK_PREFIX);
        }
        for (int i = 0; i < M_NAME_LEN - 1 && i < name.length(); i++)
        {
            cpu.store8(mod + M_NAME + i, name.charAt(i));
        }
        cpu.store64(mod + M_CORE, text);
        cpu.store64(mod + M_CORE_SIZE, (size + 4095) & ~4095L);
        // .smp_locks
        final int nLocks = img.lockSites.size();
        final long locks = k.slab.kmalloc(cpu, Math.max(8, nLocks * 8L));
        for (int i = 0; i < nLocks; i++)
        {
            cpu.store64(locks + i * 8L, img.lockSites.get(i));
        }
        cpu.store64(mod + M_NUM_LOCKS, nLocks);
        cpu.store64(mod + M_LOCKS, locks);
        // symtab + strtab
        loadFn.at(cpu, 0x80);
        final int nSyms = img.fns.size();
        long strLen = 1;
        for (final Fn f : img.fns)
        {
            strLen += f.name.length() + 1;
        }
        final long symtab = k.slab.kmalloc(cpu, nSyms * (long)SYM_SIZE);
        final long strtab = k.slab.kzalloc(cpu, strLen);
        long so = 1;
        for (int i = 0; i < nSyms; i++)
        {
            final Fn f = img.fns.get(i);
            cpu.store64(symtab + i * (long)SYM_SIZE, f.addr);
            cpu.store64(symtab + i * (long)SYM_SIZE + 8, f.size);
            cpu.store64(symtab + i * (long)SYM_SIZE + 16, so);
            for (int c = 0; c < f.name.length(); c++)
            {
                cpu.store8(strtab + so + c, f.name.charAt(c));
            }
            so += f.name.length() + 1;
        }
        cpu.store64(mod + M_NUM_SYMTAB, nSyms);
        cpu.store64(mod + M_SYMTAB, symtab);
        cpu.store64(mod + M_STRTAB, strtab);
        cpu.store64(mod + M_INIT, initFn.addr);
        cpu.store64(mod + M_EXIT, exitFn.addr);
        cpu.store64(mod + M_STATE, MODULE_STATE_LIVE);
        // The code is live from here: register it in the System.map of the machine.
        for (int i = 0; i < img.fns.size(); i++)
        {
            final Fn f = img.fns.get(i);
            Routine body = img.bodies.get(i);
            if (f == initFn)
            {
                body = c -> entryBody(c, initFn, m, true);
            }
            else if (f == exitFn)
            {
                body = c -> entryBody(c, exitFn, m, false);
            }
            k.machine.code().define(f.name, f.addr, f.size, body);
        }
        Lists.addTail(cpu, mod + M_LIST, Globals.MODULES);
        k.alternatives.moduleAdd(cpu, mod);
        cpu.mark(Mark.MODULE_LOAD, mod, text);
        k.spin.unlock(cpu, Globals.MODULE_MUTEX);
        loadFn.at(cpu, 0x100);
        final long r = k.callIndirect(cpu, initFn.addr, mod, 0, 0);
        if (r != 0)
        {
            k.printk.printk(cpu, name + ": module init failed: " + r);
            unload(cpu, mod);
        }
        return loadFn.leave(cpu, r);
    }

    private void entryBody(final Cpu cpu, final Fn fn, final Module m, final boolean init)
    {
        fn.prologue(cpu);
        final long mod = cpu.reg(Syscalls.RDI);
        long r = 0;
        if (init)
        {
            r = m.init(cpu, k, mod);
        }
        else
        {
            m.exit(cpu, k, mod);
        }
        cpu.setReg(Syscalls.RAX, r);
        fn.leave(cpu);
    }

    /** sys_delete_module: module_exit, then the module's memory is given back. */
    public long deleteModule(final Cpu cpu, final String name)
    {
        deleteFn.enter(cpu);
        k.spin.lock(cpu, Globals.MODULE_MUTEX);
        final long mod = findModule(cpu, name);
        if (mod == 0 || cpu.load64(mod + M_STATE) != MODULE_STATE_LIVE)
        {
            k.spin.unlock(cpu, Globals.MODULE_MUTEX);
            return deleteFn.leave(cpu, ENOENT);
        }
        cpu.store64(mod + M_STATE, MODULE_STATE_GOING);
        k.spin.unlock(cpu, Globals.MODULE_MUTEX);
        deleteFn.at(cpu, 0x40);
        k.callIndirect(cpu, cpu.load64(mod + M_EXIT), mod, 0, 0);
        unload(cpu, mod);
        return deleteFn.leave(cpu, 0);
    }

    /** free_module: out of alternatives and the list, text unregistered and vfree'd, tables freed. */
    private void unload(final Cpu cpu, final long mod)
    {
        k.spin.lock(cpu, Globals.MODULE_MUTEX);
        k.alternatives.moduleDel(cpu, mod);
        Lists.del(cpu, mod + M_LIST);
        k.spin.unlock(cpu, Globals.MODULE_MUTEX);
        final long text = cpu.load64(mod + M_CORE);
        final long n = cpu.load64(mod + M_NUM_SYMTAB);
        final long symtab = cpu.load64(mod + M_SYMTAB);
        for (long i = 0; i < n; i++)
        {
            k.machine.code().undefine(cpu.load64(symtab + i * SYM_SIZE));
        }
        cpu.mark(Mark.MODULE_UNLOAD, mod, text);
        k.vm.vfree(cpu, text, cpu.load64(mod + M_CORE_SIZE));
        k.slab.kfree(cpu, cpu.load64(mod + M_LOCKS));
        k.slab.kfree(cpu, symtab);
        k.slab.kfree(cpu, cpu.load64(mod + M_STRTAB));
        k.slab.kfree(cpu, mod);
    }

    /** find_module: walks the module list comparing names in memory; 0 if not loaded. */
    public long findModule(final Cpu cpu, final String name)
    {
        findFn.enter(cpu);
        long node = cpu.load64(Globals.MODULES);
        while (node != Globals.MODULES)
        {
            findFn.at(cpu, 0x20);
            if (nameIs(cpu, node + M_NAME, name))
            {
                return findFn.leave(cpu, node);
            }
            node = cpu.load64(node);
        }
        return findFn.leave(cpu, 0);
    }

    private static boolean nameIs(final Cpu cpu, final long at, final String name)
    {
        for (int i = 0; i < name.length(); i++)
        {
            if (cpu.load8(at + i) != name.charAt(i))
            {
                return false;
            }
        }
        return cpu.load8(at + name.length()) == 0;
    }

    /** __module_text_address: the module whose text holds addr, or 0 (walks the list in memory). */
    public long moduleTextAddress(final Cpu cpu, final long addr)
    {
        isModuleTextFn.enter(cpu);
        long node = cpu.load64(Globals.MODULES);
        while (node != Globals.MODULES)
        {
            isModuleTextFn.at(cpu, 0x20);
            final long core = cpu.load64(node + M_CORE);
            if (Long.compareUnsigned(addr, core) >= 0 && Long.compareUnsigned(addr, core + cpu.load64(node + M_CORE_SIZE)) < 0)
            {
                return isModuleTextFn.leave(cpu, node);
            }
            node = cpu.load64(node);
        }
        return isModuleTextFn.leave(cpu, 0);
    }

    /** The names of the loaded modules, most recently loaded first (as Oops' "Modules linked in:"). */
    public String linkedIn(final Cpu cpu)
    {
        final StringBuilder sb = new StringBuilder();
        long node = cpu.load64(Globals.MODULES + 8);
        int guard = 0;
        while (node != Globals.MODULES && node != 0 && guard++ < 64)
        {
            if (sb.length() > 0)
            {
                sb.append(' ');
            }
            for (int i = 0; i < M_NAME_LEN; i++)
            {
                final long c = cpu.load8(node + M_NAME + i);
                if (c == 0)
                {
                    break;
                }
                sb.append((char)c);
            }
            node = cpu.load64(node + 8);
        }
        return sb.toString();
    }
}
