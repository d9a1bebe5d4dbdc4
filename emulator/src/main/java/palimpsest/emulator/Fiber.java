package palimpsest.emulator;

import java.util.concurrent.locks.LockSupport;

/**
 * One emulated execution context (a CPU's boot code, a kernel thread, a user thread, an idle
 * loop), backed by a Java thread. At most one fiber in the machine holds the baton and runs; the
 * others are parked. Kernel {@code switch_to} moves the baton between fibers of one CPU with
 * {@link Cpu#switchTo}; the executor moves it between CPUs at switch points.
 */
public final class Fiber
{
    final Executor exec;
    final String name;
    final long id;
    final Routine entry;
    final Cpu cpu;
    final Thread thread;
    volatile boolean baton;
    boolean started;
    boolean finished;

    Fiber(final Executor exec, final long id, final String name, final Routine entry)
    {
        this.exec = exec;
        this.id = id;
        this.name = name;
        this.entry = entry;
        this.cpu = new Cpu(exec, this);
        this.thread = new FiberThread(this);
    }

    public String name()
    {
        return name;
    }

    public long id()
    {
        return id;
    }

    /** The fiber's instruction handle (valid whichever core it runs on). */
    public Cpu cpu()
    {
        return cpu;
    }

    public boolean finished()
    {
        return finished;
    }

    void awaitBaton()
    {
        int spins = 0;
        while (!baton)
        {
            if (exec.stopping)
            {
                throw MachineStopped.INSTANCE;
            }
            // A short spin only: measured on 2 cores, spinning 20k times before parking made
            // ipi-pingpong 10x slower, as waiting fibers steal the core of the running one.
            if (spins < 500)
            {
                spins++;
                Thread.onSpinWait();
            }
            else
            {
                LockSupport.park(this);
            }
        }
        baton = false;
        if (exec.stopping)
        {
            throw MachineStopped.INSTANCE;
        }
    }

    void giveBaton()
    {
        baton = true;
        if (!started)
        {
            started = true;
            thread.start();
        }
        else
        {
            LockSupport.unpark(thread);
        }
    }

    @Override
    public String toString()
    {
        return "fiber#" + id + "(" + name + ")";
    }

    static final class FiberThread extends Thread
    {
        final Fiber fiber;

        FiberThread(final Fiber fiber)
        {
            super(null, null, "emu-" + fiber.name, 1L << 22);
            this.fiber = fiber;
            setDaemon(true);
        }

        @Override
        public void run()
        {
            final Fiber f = fiber;
            try
            {
                f.awaitBaton();
                f.entry.run(f.cpu);
                f.finished = true;
                f.exec.fiberReturned(f);
            }
            catch (final MachineStopped | FiberExit unwound)
            {
                // the machine stopped, or the fiber exited with Cpu.exitTo
            }
            catch (final Throwable t)
            {
                f.exec.internalError(f, t);
            }
        }
    }
}
