package palimpsest.emulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class CodeMapTest
{
    @Test
    void kernelTextAtTheTopAndLowCodeLiveSideBySide()
    {
        final CodeMap m = new CodeMap();
        m.define("_stext", 0xffffffff81000000L, 0x100, null);
        m.define("trampoline", 0x8000, 0x100, null);
        m.define("user_main", 0x400000, 0x80, null);
        m.define("module_init", 0xffffffffa0000000L, 0x40, null);
        assertEquals("_stext+0x10/0x100", m.symbolize(0xffffffff81000010L));
        assertEquals("trampoline+0xff/0x100", m.symbolize(0x80ff));
        assertEquals("module_init+0x0/0x40", m.symbolize(0xffffffffa0000000L));
        assertNull(m.symbolize(0x8100));
        assertNull(m.symbolize(0xffffffff81000100L));
        assertEquals(0x400000, m.addressOf("user_main"));
        assertEquals(0xffffffff81000000L, m.startOf(0xffffffff81000050L));
        assertThrows(IllegalArgumentException.class, () -> m.define("overlaps_low", 0x80f0, 0x20, null));
        assertThrows(IllegalArgumentException.class, () -> m.define("overlaps_high", 0xffffffff80ffff00L, 0x200, null));
        m.undefine(0xffffffffa0000000L);
        assertNull(m.symbolize(0xffffffffa0000000L));
    }
}
