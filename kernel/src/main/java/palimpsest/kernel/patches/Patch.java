package palimpsest.kernel.patches;

import palimpsest.kernel.Kernel;

/**
 * One named change in the kernel's patch series, like a commit in a git history. Built-in patches
 * are listed in {@link PatchSeries}; a plugin jar adds its own with
 * {@code META-INF/services/palimpsest.kernel.patches.Patch}. They are appended to the series in
 * name order, after the built-ins, unless they name a place with {@link #after()}.
 *
 * <p>Most patches are pure flags: kernel code asks {@code patches.enabled("name")} at the point
 * the patch changes. A patch may also {@link #install} code of its own (register kernel
 * functions, hotplug callbacks or init hooks) while the kernel image is being built.
 */
public interface Patch
{
    /** Lower-case words joined by '-'. */
    String name();

    /** One line: what the patch changes and why. */
    String description();

    /**
     * Optional patches are in the series but applied only with {@code --patch +name}, never by a
     * version tag (debug options, experiments).
     */
    default boolean optional()
    {
        return false;
    }

    /**
     * Where a plugin patch goes in the series: right after the patch of this name (built-in or
     * another plugin's), like a commit cherry-picked into the history at that point. Version tags
     * after that point then include it; a tag that ends at the named patch does not. Null (the
     * default): appended after the built-ins. An unknown name also appends it. Ignored for
     * built-in patches.
     */
    default String after()
    {
        return null;
    }

    /**
     * Called once while the kernel image is built, if the patch is applied (after the scenario's
     * modules are registered, so a patch may replace one: a patch that changes a driver).
     */
    default void install(final Kernel kernel)
    {
    }
}
