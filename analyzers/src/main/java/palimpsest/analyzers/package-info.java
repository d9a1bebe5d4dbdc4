/**
 * Analyzers: streaming passes and indexes over traces (who-wrote index, heap shadow, code-write audit) and their KASAN/KFENCE/KCSAN/lockdep-style reports.
 *
 * <p>Placeholder: this module is filled by issue 6 ("issues show 6"); for now it only keeps the
 * Maven reactor building.
 */
package palimpsest.analyzers;
