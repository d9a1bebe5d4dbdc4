package palimpsest.gdb.elf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads back what {@link ElfSymbolFile} writes (any ELF64 little-endian file with a .symtab): the
 * text sections and the FUNC symbols each holds. Used to report what was written and by the tests.
 */
public final class ElfReader
{
    private ElfReader()
    {
    }

    /** The allocated executable sections with their FUNC symbols, in section order. */
    public static List<ElfSymbolFile.Section> sections(final byte[] elf)
    {
        final ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        if (elf.length < ElfSymbolFile.EHDR || b.getInt(0) != 0x464c457f || elf[4] != 2 || elf[5] != 1)
        {
            throw new IllegalArgumentException("not an ELF64 little-endian file");
        }
        final long shoff = b.getLong(0x28);
        final int shnum = b.getShort(0x3c) & 0xffff;
        final int shstrndx = b.getShort(0x3e) & 0xffff;
        final long shstrOff = b.getLong((int)(shoff + shstrndx * 64L + 0x18));
        final List<long[]> text = new ArrayList<>();
        final List<String> names = new ArrayList<>();
        final List<List<ElfSymbolFile.Function>> functions = new ArrayList<>();
        final int[] sectionOf = new int[shnum];
        int symtab = -1;
        for (int i = 0; i < shnum; i++)
        {
            final int at = (int)(shoff + 64L * i);
            final int type = b.getInt(at + 4);
            final long flags = b.getLong(at + 8);
            sectionOf[i] = -1;
            if (type == ElfSymbolFile.SHT_SYMTAB)
            {
                symtab = i;
            }
            if ((flags & ElfSymbolFile.SHF_EXECINSTR) != 0 && (flags & ElfSymbolFile.SHF_ALLOC) != 0)
            {
                sectionOf[i] = text.size();
                text.add(new long[] {b.getLong(at + 0x10), b.getLong(at + 0x20)});
                names.add(string(elf, shstrOff + b.getInt(at)));
                functions.add(new ArrayList<>());
            }
        }
        if (symtab < 0)
        {
            throw new IllegalArgumentException("no .symtab");
        }
        final int st = (int)(shoff + 64L * symtab);
        final long symOff = b.getLong(st + 0x18);
        final long symSize = b.getLong(st + 0x20);
        final long strOff = b.getLong((int)(shoff + 64L * b.getInt(st + 0x28) + 0x18));
        for (long s = symOff + ElfSymbolFile.SYM; s < symOff + symSize; s += ElfSymbolFile.SYM)
        {
            final int info = elf[(int)s + 4];
            final int shndx = b.getShort((int)s + 6) & 0xffff;
            if ((info & 0xf) == 2 && shndx < shnum && sectionOf[shndx] >= 0)
            {
                functions.get(sectionOf[shndx]).add(new ElfSymbolFile.Function(string(elf, strOff + b.getInt((int)s)),
                    b.getLong((int)s + 8), b.getLong((int)s + 16), names.get(sectionOf[shndx])));
            }
        }
        final List<ElfSymbolFile.Section> out = new ArrayList<>();
        for (int i = 0; i < text.size(); i++)
        {
            out.add(new ElfSymbolFile.Section(names.get(i), text.get(i)[0], text.get(i)[0] + text.get(i)[1], functions.get(i)));
        }
        return out;
    }

    private static String string(final byte[] elf, final long at)
    {
        int end = (int)at;
        while (end < elf.length && elf[end] != 0)
        {
            end++;
        }
        return new String(elf, (int)at, end - (int)at, StandardCharsets.UTF_8);
    }
}
