package procs

import (
	"path/filepath"
	"strconv"
	"strings"
)

// The profile flags of `run` and `capacity` (runtime/pprof): each process
// writes its own file. A worker gets the parent's FILE with its index
// inserted (ProfileFile), so N workers leave N profiles beside the
// parent's own.
const (
	CPUProfileFlag = "--cpuprofile"
	MemProfileFlag = "--memprofile"
)

// ProfileFile is worker i's file for the parent's profile path: the index
// goes before the extension ("cpu.pprof" → "cpu.0.pprof", "prof/heap" →
// "prof/heap.0"). A dot that starts the file's name is no extension
// (".cpu" → ".cpu.0").
func ProfileFile(path string, i int) string {
	dir, base := filepath.Split(path)
	ext := filepath.Ext(base)
	if ext == base {
		ext = ""
	}
	return dir + strings.TrimSuffix(base, ext) + "." + strconv.Itoa(i) + ext
}

// profileArgs are worker i's profile flags.
func (cfg Config) profileArgs(i int) []string {
	var args []string
	if cfg.CPUProfile != "" {
		args = append(args, CPUProfileFlag, ProfileFile(cfg.CPUProfile, i))
	}
	if cfg.MemProfile != "" {
		args = append(args, MemProfileFlag, ProfileFile(cfg.MemProfile, i))
	}
	return args
}
