/**
 * Golden traces: packed reference traces with their expected outcomes, and the tests that replay and analyze them.
 *
 * <p>Placeholder: this module is filled as the later issues (5: replay, 6: analyzers, 7: bisect and diff) land; for now it only keeps the
 * Maven reactor building.
 */
package palimpsest.golden;
