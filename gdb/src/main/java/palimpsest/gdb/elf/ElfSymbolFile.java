package palimpsest.gdb.elf;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a symbol-only ELF64 x86-64 executable for gdb's {@code file}: one {@code NOBITS} text
 * section per run of functions (the kernel's {@code .text}, each loaded module's
 * {@code .text.MODULE} at its load address, each user program's {@code .text.user.PROG}), a
 * {@code .symtab} of FUNC symbols with their sizes, and a {@code .debug_frame} that tells gdb how
 * every one of these functions keeps its frame:
 *
 * <pre>
 *  offset
 *  0x00   ELF header (64 bytes): ELFCLASS64, little-endian, ET_EXEC, EM_X86_64, no program headers
 *  0x40   .debug_frame  CIE (code align 1, data align -8): CFA = RSP + 8, RIP at CFA - 8 (just called)
 *                       FDE per function [start, start + size):  +1 (after push rbp): CFA = RSP + 16, RBP at
 *                       CFA - 16 | +4 (after mov rbp, rsp): CFA = RBP + 16 | size - 1 (after leave): CFA = RSP + 8
 *  ....   .symtab       24 bytes per symbol: the null symbol, then GLOBAL FUNC symbols (name, address, size,
 *                       index of the text section that holds them)
 *  ....   .strtab       symbol names, NUL-terminated
 *  ....   .shstrtab     section names
 *  ....   section headers, 64 bytes each:
 *           [0] null | [1..k] .text* NOBITS ALLOC|EXECINSTR at their addresses (no bytes in the file:
 *           gdb reads code from the target) | .debug_frame | .symtab (link .strtab) | .strtab | .shstrtab
 * </pre>
 * The frame rules are the kernel's: every function is entered by a call and {@code push rbp; mov
 * rbp, rsp} and left by {@code leave; ret} ({@code [fp] = caller's fp, [fp+8] = return address},
 * trap frames alike), so {@code bt} in gdb walks the same frame-pointer chain {@code pal state}
 * prints. The text itself is no x86 code, so gdb's prologue analyser would find nothing: the CFI
 * is what makes {@code bt} work (pal gdb puts RIP on the right instruction of those sequences:
 * {@code Prologue}).
 */
public final class ElfSymbolFile
{
    /** One function: name, start, size, and the module or program it belongs to (null: the kernel). */
    public record Function(String name, long start, long size, String owner)
    {
    }

    /** A text section: a name and the functions it covers. */
    public record Section(String name, long start, long end, List<Function> functions)
    {
    }

    static final int EHDR = 64;
    static final int SHDR = 64;
    static final int SYM = 24;
    static final int SHT_PROGBITS = 1;
    static final int SHT_SYMTAB = 2;
    static final int SHT_STRTAB = 3;
    static final int SHT_NOBITS = 8;
    static final long SHF_ALLOC = 2;
    static final long SHF_EXECINSTR = 4;
    /** Functions further apart than this go to separate sections. */
    private static final long GAP = 1 << 20;

    private ElfSymbolFile()
    {
    }

    /**
     * Groups functions into text sections: by owner, then by address runs (duplicates, e.g. a module
     * loaded twice at the same address, are kept once).
     */
    public static List<Section> sections(final List<Function> functions)
    {
        final List<Function> sorted = new ArrayList<>(functions);
        sorted.sort(Comparator.comparing(Function::start, Long::compareUnsigned).thenComparing(Function::name));
        final Map<String, List<List<Function>>> byOwner = new LinkedHashMap<>();
        Function prev = null;
        for (final Function f : sorted)
        {
            if (prev != null && prev.start() == f.start() && prev.name().equals(f.name()))
            {
                continue;
            }
            prev = f;
            final List<List<Function>> runs = byOwner.computeIfAbsent(ownerKey(f), k -> new ArrayList<>());
            final List<Function> run = runs.isEmpty() ? null : runs.get(runs.size() - 1);
            final long lastEnd = run == null ? 0 : end(run.get(run.size() - 1));
            if (run == null || Long.compareUnsigned(f.start(), lastEnd) < 0 || Long.compareUnsigned(f.start() - lastEnd, GAP) > 0)
            {
                runs.add(new ArrayList<>(List.of(f)));
            }
            else
            {
                run.add(f);
            }
        }
        final List<Section> out = new ArrayList<>();
        for (final Map.Entry<String, List<List<Function>>> e : byOwner.entrySet())
        {
            final List<List<Function>> runs = e.getValue();
            // the biggest run keeps the plain name (.text: the kernel's), others add their start address
            int main = 0;
            for (int i = 1; i < runs.size(); i++)
            {
                main = runs.get(i).size() > runs.get(main).size() ? i : main;
            }
            for (int i = 0; i < runs.size(); i++)
            {
                final List<Function> run = runs.get(i);
                long hi = 0;
                for (final Function f : run)
                {
                    hi = Long.compareUnsigned(end(f), hi) > 0 ? end(f) : hi;
                }
                out.add(new Section(i == main ? e.getKey() : e.getKey() + "." + Long.toHexString(run.get(0).start()), run.get(0).start(),
                    hi, run));
            }
        }
        return out;
    }

    private static String ownerKey(final Function f)
    {
        if (f.owner() == null)
        {
            final int colon = f.name().indexOf(':');
            return colon > 0 ? ".text.user." + f.name().substring(0, colon) : ".text";
        }
        return ".text." + f.owner();
    }

    private static long end(final Function f)
    {
        return f.start() + f.size();
    }

    /** The ELF file's bytes; entry is e_entry (the kernel's boot entry). */
    public static byte[] write(final List<Function> functions, final long entry)
    {
        final List<Section> text = sections(functions);
        final byte[] frame = debugFrame(text);
        final ByteArrayOutputStream strtab = new ByteArrayOutputStream();
        strtab.write(0);
        int symbols = 1;
        for (final Section s : text)
        {
            symbols += s.functions().size();
        }
        final ByteBuffer symtab = ByteBuffer.allocate(SYM * symbols).order(ByteOrder.LITTLE_ENDIAN);
        symtab.position(SYM);
        for (int i = 0; i < text.size(); i++)
        {
            for (final Function f : text.get(i).functions())
            {
                final int name = strtab.size();
                strtab.writeBytes(f.name().getBytes(StandardCharsets.UTF_8));
                strtab.write(0);
                symtab.putInt(name).put((byte)0x12).put((byte)0).putShort((short)(1 + i)).putLong(f.start()).putLong(f.size());
            }
        }
        final ByteArrayOutputStream shstr = new ByteArrayOutputStream();
        shstr.write(0);
        final int[] textNames = new int[text.size()];
        for (int i = 0; i < text.size(); i++)
        {
            textNames[i] = addName(shstr, text.get(i).name());
        }
        final int nFrame = addName(shstr, ".debug_frame");
        final int nSymtab = addName(shstr, ".symtab");
        final int nStrtab = addName(shstr, ".strtab");
        final int nShstrtab = addName(shstr, ".shstrtab");

        final int frameAt = EHDR;
        final int symtabAt = align(frameAt + frame.length, 8);
        final int strtabAt = symtabAt + symtab.capacity();
        final int shstrAt = strtabAt + strtab.size();
        final int shdrAt = align(shstrAt + shstr.size(), 8);
        final int sections = 1 + text.size() + 4;
        final ByteBuffer b = ByteBuffer.allocate(shdrAt + SHDR * sections).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0}).putLong(0);
        b.putShort((short)2).putShort((short)62).putInt(1).putLong(entry).putLong(0).putLong(shdrAt).putInt(0)
            .putShort((short)EHDR).putShort((short)0).putShort((short)0).putShort((short)SHDR).putShort((short)sections)
            .putShort((short)(sections - 1));
        b.position(frameAt);
        b.put(frame);
        b.position(symtabAt);
        b.put(symtab.array());
        b.put(strtab.toByteArray());
        b.put(shstr.toByteArray());
        b.position(shdrAt + SHDR);
        for (int i = 0; i < text.size(); i++)
        {
            final Section s = text.get(i);
            shdr(b, textNames[i], SHT_NOBITS, SHF_ALLOC | SHF_EXECINSTR, s.start(), frameAt, s.end() - s.start(), 0, 0, 16, 0);
        }
        final int strtabIndex = 1 + text.size() + 2;
        shdr(b, nFrame, SHT_PROGBITS, 0, 0, frameAt, frame.length, 0, 0, 8, 0);
        shdr(b, nSymtab, SHT_SYMTAB, 0, 0, symtabAt, symtab.capacity(), strtabIndex, 1, 8, SYM);
        shdr(b, nStrtab, SHT_STRTAB, 0, 0, strtabAt, strtab.size(), 0, 0, 1, 0);
        shdr(b, nShstrtab, SHT_STRTAB, 0, 0, shstrAt, shstr.size(), 0, 0, 1, 0);
        return b.array();
    }

    /**
     * DWARF .debug_frame (version 1, 32-bit): one CIE with the rule at a function's first byte, one
     * FDE per function with the rows of its prologue, body and epilogue.
     */
    static byte[] debugFrame(final List<Section> text)
    {
        final ByteArrayOutputStream b = new ByteArrayOutputStream();
        // CIE: CIE id, version 1, augmentation "", code align 1, data align -8, return address column 16
        final ByteArrayOutputStream cie = new ByteArrayOutputStream();
        le(cie, 0xffffffffL, 4);
        cie.writeBytes(new byte[] {1, 0, 1, 0x78, 16});
        cie.writeBytes(new byte[] {0x0c, 7, 8});            // DW_CFA_def_cfa: rsp (7) + 8 (just called)
        cie.writeBytes(new byte[] {(byte)(0x80 | 16), 1});  // DW_CFA_offset: rip (16) at CFA - 8
        entry(b, cie);
        for (final Section s : text)
        {
            for (final Function f : s.functions())
            {
                final ByteArrayOutputStream fde = new ByteArrayOutputStream();
                le(fde, 0, 4);                                 // CIE pointer: the CIE at offset 0
                le(fde, f.start(), 8);
                le(fde, f.size(), 8);
                if (f.size() >= MIN_FRAMED)
                {
                    fde.write(0x40 | 1);                       // after push rbp (1 byte):
                    fde.writeBytes(new byte[] {0x0e, 16});     //   CFA = rsp + 16
                    fde.writeBytes(new byte[] {(byte)(0x80 | 6), 2}); //   rbp at CFA - 16
                    fde.write(0x40 | 3);                       // after mov rbp, rsp (3 bytes):
                    fde.writeBytes(new byte[] {0x0d, 6});      //   CFA = rbp + 16
                    advance(fde, f.size() - 5);                // after leave (at size - 2, 1 byte), before ret:
                    fde.writeBytes(new byte[] {0x0c, 7, 8});   //   CFA = rsp + 8
                    fde.write(0xc0 | 6);                       //   rbp restored
                }
                else
                {
                    fde.writeBytes(new byte[] {0x0c, 6, 16, (byte)(0x80 | 6), 2}); // too small for a prologue: CFA = rbp + 16
                }
                entry(b, fde);
            }
        }
        return b.toByteArray();
    }

    /** Functions at least this long have the prologue and epilogue rows (push, mov, body, leave, ret). */
    public static final int MIN_FRAMED = 6;

    /** A length-prefixed CIE or FDE, padded with DW_CFA_nop to a multiple of the address size. */
    private static void entry(final ByteArrayOutputStream out, final ByteArrayOutputStream body)
    {
        final int padded = align(4 + body.size(), 8) - 4;
        le(out, padded, 4);
        out.writeBytes(body.toByteArray());
        for (int i = body.size(); i < padded; i++)
        {
            out.write(0);
        }
    }

    private static void advance(final ByteArrayOutputStream out, final long delta)
    {
        if (delta < 64)
        {
            out.write(0x40 | (int)delta);
        }
        else if (delta < 256)
        {
            out.write(0x02);
            le(out, delta, 1);
        }
        else if (delta < 65536)
        {
            out.write(0x03);
            le(out, delta, 2);
        }
        else
        {
            out.write(0x04);
            le(out, delta, 4);
        }
    }

    private static void le(final ByteArrayOutputStream out, final long v, final int bytes)
    {
        for (int i = 0; i < bytes; i++)
        {
            out.write((int)(v >>> (8 * i)) & 0xff);
        }
    }

    private static void shdr(final ByteBuffer b, final int name, final int type, final long flags, final long addr, final long offset,
        final long size, final int link, final int info, final long align, final long entsize)
    {
        b.putInt(name).putInt(type).putLong(flags).putLong(addr).putLong(offset).putLong(size).putInt(link).putInt(info)
            .putLong(align).putLong(entsize);
    }

    private static int addName(final ByteArrayOutputStream s, final String name)
    {
        final int at = s.size();
        s.writeBytes(name.getBytes(StandardCharsets.UTF_8));
        s.write(0);
        return at;
    }

    private static int align(final int v, final int a)
    {
        return (v + a - 1) & -a;
    }
}
