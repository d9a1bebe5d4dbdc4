package palimpsest.kernel.drivers;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import palimpsest.emulator.Cpu;
import palimpsest.emulator.Machine;
import palimpsest.emulator.MachineConfig;
import palimpsest.emulator.Outcome;
import palimpsest.emulator.input.SeededInput;
import palimpsest.kernel.Kernel;
import palimpsest.kernel.KernelConfig;
import palimpsest.kernel.user.U;
import palimpsest.kernel.user.UserProgram;
import palimpsest.trace.EventSink;

/** The driver extension API end to end: a user program loads {@link HelloDriver} and drives it through /dev/hello. */
class DriverTest
{
    /** insmod, open, write, ioctl (irq, timer, kthread), read, close, rmmod, open again. */
    static final class DrvTest extends UserProgram
    {
        private long scratch;
        private long name;
        private long path;
        private long buf;

        DrvTest()
        {
            super("drvtest", "/bin/drvtest", 0xc00000);
        }

        @Override
        protected void define(final Image img)
        {
            img.fn("main", 0x100, this::main);
            name = img.data(HelloDriver.NAME);
            path = img.data("/dev/hello");
            scratch = img.bss(256);
            buf = img.bss(64);
        }

        private void main(final Cpu cpu)
        {
            cpu.pc(textBase());
            final long loaded = U.initModule(cpu, name);
            final long fd = U.open(cpu, path);
            for (int i = 0; i < 4; i++)
            {
                cpu.store8(buf + i, "ping".charAt(i));
            }
            final long wrote = U.syscall(cpu, palimpsest.kernel.user.Syscalls.SYS_WRITE, fd, buf, 4);
            for (int i = 0; i < 4; i++)
            {
                cpu.store8(buf + i, 0);
            }
            final long read = U.read(cpu, fd, buf, 64);
            final String echo = U.str(cpu, buf);
            U.ioctl(cpu, fd, 1, 0);
            U.sleep(cpu, 1);
            final long irqs = U.ioctl(cpu, fd, 2, 0);
            U.ioctl(cpu, fd, 3, 0);
            U.sleep(cpu, 3);
            final long timer = U.ioctl(cpu, fd, 4, 0);
            U.ioctl(cpu, fd, 5, 0);
            U.sleep(cpu, 2);
            final long kthread = U.ioctl(cpu, fd, 6, 0);
            final long bad = U.ioctl(cpu, fd, 99, 0);
            final long closed = U.close(cpu, fd);
            final long unloaded = U.deleteModule(cpu, name);
            final long reopen = U.open(cpu, path);
            U.print(cpu, scratch, "drv: insmod=" + loaded + " fd=" + fd + " wrote=" + wrote + " read=" + read + " echo=" + echo + " irqs=" + irqs
                + " timer=" + timer + " kthread=" + kthread + " badioctl=" + bad + " close=" + closed + " rmmod=" + unloaded + " reopen=" + reopen + "\n");
            U.exit(cpu, 0);
        }
    }

    @Test
    void aUserProgramDrivesTheModuleThroughItsCharDeviceInterruptTimerAndThread()
    {
        final Machine m = new Machine(new MachineConfig(1, 2, 32), EventSink.NULL, new SeededInput(3));
        final KernelConfig c = new KernelConfig().module(HelloDriver.NAME, HelloDriver::new).program(new DrvTest()).init("/bin/drvtest");
        Kernel.install(m, c);
        final Outcome o = m.run(200_000_000L);
        final String con = m.console(0).text();
        assertTrue(o.clean(), o + "\n" + con);
        assertTrue(con.contains("hello: /dev/hello (major 42), irq 80"), con);
        assertTrue(con.contains("drv: insmod=0 fd=0 wrote=4 read=4 echo=ping irqs=1 timer=1 kthread=1 badioctl=-25 close=0 rmmod=0 reopen=-6"), con);
    }
}
