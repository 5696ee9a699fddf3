// Package report turns what a run measured into files and text people and
// machines read: summary.json (a versioned schema, docs/results.md), the
// end-of-run table (summary.txt), and the other formats of the result
// directory. A reporter is a function that writes to an io.Writer; files
// are written atomically (temp file + rename) by WriteFileAtomic.
package report
