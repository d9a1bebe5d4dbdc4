package palimpsest.emulator;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.function.IntPredicate;

import palimpsest.emulator.input.InputSource;
import palimpsest.emulator.input.InputSources;
import palimpsest.trace.EventKind;
import palimpsest.trace.EventSink;

/** Machines, input sources and sinks for the hardware tests. */
final class TestSupport
{
    private TestSupport()
    {
    }

    /** A fully scripted input source: long slices, lowest runnable cpu, fixed delays. */
    static final class FixedInput implements InputSource
    {
        long slice = 1_000_000;
        long irqDelay;
        long netLatency = 1_000;
        IntPredicate dropFrame = i -> false;
        int frames;
        boolean roundRobin;

        @Override
        public String kind()
        {
            return "fixed";
        }

        @Override
        public long seed()
        {
            return 0;
        }

        @Override
        public long slice(final int cpu)
        {
            return slice;
        }

        @Override
        public int pickCpu(final long runnable, final int previous)
        {
            if (roundRobin && previous >= 0 && previous < 63)
            {
                final long hi = runnable & (-1L << (previous + 1));
                if (hi != 0)
                {
                    return Long.numberOfTrailingZeros(hi);
                }
            }
            return Long.numberOfTrailingZeros(runnable);
        }

        @Override
        public long irqDelay(final int cpu, final int vector)
        {
            return irqDelay;
        }

        @Override
        public long netLatency(final int src, final int dst, final int length)
        {
            return netLatency;
        }

        @Override
        public boolean netDrop(final int src, final int dst, final int length)
        {
            return dropFrame.test(frames++);
        }

        @Override
        public long random()
        {
            return 4;
        }

        @Override
        public long stimulus(final int id, final long nominal)
        {
            return nominal;
        }
    }

    /** One recorded event, every field. */
    static final class Ev
    {
        final int kind;
        final int cpu;
        final long icount;
        final long pc;
        final long a;
        final long b;
        final long c;
        final long paddr;
        final int size;
        final byte[] payload;

        Ev(final int kind, final int cpu, final long icount, final long pc, final long a, final long b, final long c,
            final long paddr, final int size, final byte[] payload)
        {
            this.kind = kind;
            this.cpu = cpu;
            this.icount = icount;
            this.pc = pc;
            this.a = a;
            this.b = b;
            this.c = c;
            this.paddr = paddr;
            this.size = size;
            this.payload = payload;
        }

        /** For accesses: vaddr. */
        long vaddr()
        {
            return a;
        }

        long value()
        {
            return b;
        }

        long old()
        {
            return c;
        }

        @Override
        public String toString()
        {
            return EventKind.name(kind) + " cpu" + cpu + " ic" + icount + " pc" + Long.toHexString(pc) + " " +
                Long.toHexString(a) + " " + Long.toHexString(b) + " " + Long.toHexString(c);
        }
    }

    /** Keeps every event (small tests only). */
    static final class ListSink implements EventSink
    {
        final List<Ev> events = new ArrayList<>();

        @Override
        public void access(final int kind, final int cpu, final long icount, final long pc, final long vaddr, final long paddr,
            final int size, final long value, final long oldValue)
        {
            events.add(new Ev(kind, cpu, icount, pc, vaddr, value, oldValue, paddr, size, null));
        }

        @Override
        public void event(final int kind, final int cpu, final long icount, final long pc, final long a, final long b, final long c)
        {
            events.add(new Ev(kind, cpu, icount, pc, a, b, c, 0, 0, null));
        }

        @Override
        public void net(final int kind, final int device, final long vtime, final long peerNode, final long frameId,
            final byte[] payload, final int offset, final int length)
        {
            final byte[] copy = new byte[length];
            System.arraycopy(payload, offset, copy, 0, length);
            events.add(new Ev(kind, device, vtime, 0, peerNode, frameId, length, 0, length, copy));
        }

        List<Ev> of(final int kind)
        {
            final List<Ev> out = new ArrayList<>();
            for (final Ev e : events)
            {
                if (e.kind == kind)
                {
                    out.add(e);
                }
            }
            return out;
        }
    }

    static Machine machine(final int nodes, final int cpus, final EventSink sink, final InputSource input)
    {
        return new Machine(new MachineConfig(nodes, cpus, 8), sink, input);
    }

    static Scenario scenario(final String name)
    {
        for (final Scenario s : ServiceLoader.load(Scenario.class))
        {
            if (s.name().equals(name))
            {
                return s;
            }
        }
        throw new AssertionError("no scenario " + name);
    }

    /** A finished scenario run. */
    static final class Run
    {
        final Machine machine;
        final Outcome outcome;
        final Verdict verdict;

        Run(final Machine machine, final Outcome outcome, final Verdict verdict)
        {
            this.machine = machine;
            this.outcome = outcome;
            this.verdict = verdict;
        }

        @Override
        public String toString()
        {
            return verdict + " / " + outcome + "\n" + machine.console(0).text();
        }
    }

    static Run runScenario(final String name, final MachineConfig cfg, final ScenarioContext ctx, final EventSink sink,
        final String schedule, final long seed)
    {
        final Scenario s = scenario(name);
        final Machine m = new Machine(cfg == null ? s.defaultConfig() : cfg, sink, InputSources.create(schedule, seed));
        s.load(m, ctx);
        final Outcome o = m.run(s.maxInstructions());
        return new Run(m, o, s.verdict(m, o));
    }

    /** Bare-metal program layout shared by the hardware tests. */
    static final long IDT = 0x10000;
    static final long STACK = 0x80000;
    static final long DATA = 0x90000;
    static final long AP_ENTRY = 0x8000;

    /** Defines routine at addr and fills its text with NOPs on every node. */
    static long code(final Machine m, final String name, final long addr, final Routine r)
    {
        m.code().define(name, addr, 0x100, r);
        for (int n = 0; n < m.config().nodes; n++)
        {
            m.memory(n).fill(addr, 0x100, (byte)0x90);
        }
        return addr;
    }

    /** Loader: IDT entry vector -> handler on every node (raw memory, before the run). */
    static void vector(final Machine m, final int vector, final long handler)
    {
        for (int n = 0; n < m.config().nodes; n++)
        {
            m.memory(n).write64(IDT + vector * 8L, handler);
        }
    }

    /** BSP code: INIT, a delay longer than any IRQ jitter, SIPI to each AP 1..n-1. */
    static void startAps(final Cpu cpu, final int n, final long entry)
    {
        for (int ap = 1; ap < n; ap++)
        {
            cpu.apicWrite(Apic.ICR_HI, (long)ap << 24);
            cpu.apicWrite(Apic.ICR_LO, Apic.icr(0, Apic.MODE_INIT, Apic.DEST_NONE));
            cpu.compute(30_000);
            cpu.apicWrite(Apic.ICR_LO, Apic.icr((int)(entry >>> 12), Apic.MODE_SIPI, Apic.DEST_NONE));
        }
    }

    /** Builds 4-level page tables in raw memory from a bump allocator of zeroed frames. */
    static final class PageTables
    {
        final PhysicalMemory mem;
        final long pml4;
        long next;

        PageTables(final PhysicalMemory mem, final long base)
        {
            this.mem = mem;
            this.pml4 = base;
            this.next = base + Paging.PAGE_SIZE;
            mem.fill(base, (int)Paging.PAGE_SIZE, (byte)0);
        }

        /** Physical address of the PTE for va, creating intermediate tables (P|W|U) as needed. */
        long pte(final long va)
        {
            long table = pml4;
            for (int level = 4; level > 1; level--)
            {
                final long ea = table + Paging.index(va, level) * 8L;
                long e = mem.read64(ea);
                if ((e & Paging.P) == 0)
                {
                    final long t = next;
                    next += Paging.PAGE_SIZE;
                    mem.fill(t, (int)Paging.PAGE_SIZE, (byte)0);
                    e = t | Paging.P | Paging.W | Paging.U;
                    mem.write64(ea, e);
                }
                table = e & Paging.ADDR_MASK;
            }
            return table + Paging.index(va, 1) * 8L;
        }

        PageTables map(final long va, final long pa, final long flags)
        {
            mem.write64(pte(va), pa | flags);
            return this;
        }

        /** Identity-maps [0, bytes) with flags. */
        PageTables identity(final long bytes, final long flags)
        {
            for (long a = 0; a < bytes; a += Paging.PAGE_SIZE)
            {
                map(a, a, flags);
            }
            return this;
        }
    }
}
