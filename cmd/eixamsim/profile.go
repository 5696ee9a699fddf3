package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/spf13/pflag"

	"github.com/eixamsim/eixamsim/procs"
)

// profileFlags are --cpuprofile and --memprofile of run and capacity: a
// profile of this process (runtime/pprof), for `go tool pprof`. Under
// --procs the parent writes its own and each worker its own
// (procs.ProfileFile: cpu.pprof → cpu.0.pprof); docs/performance.md.
type profileFlags struct {
	cpu, mem string
}

func (p *profileFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&p.cpu, strings.TrimPrefix(procs.CPUProfileFlag, "--"), "", "write a CPU profile of the whole command to `FILE` (go tool pprof); under --procs worker i writes its own, the index before the extension (cpu.0.pprof)")
	fl.StringVar(&p.mem, strings.TrimPrefix(procs.MemProfileFlag, "--"), "", "write a heap profile to `FILE` at the end, after a GC (go tool pprof); under --procs one per worker, as --cpuprofile")
}

// profileOwn are the profile flags, which the parent of --procs gives each
// worker itself (procs.Config.CPUProfile) instead of passing them on.
var profileOwn = []string{strings.TrimPrefix(procs.CPUProfileFlag, "--"), strings.TrimPrefix(procs.MemProfileFlag, "--")}

// start creates the profile files (so a path that cannot be written is a
// usage error before anything runs) and starts the CPU profile. stop ends
// it and writes the heap profile; it is safe to call once, and only after
// the command's work is done.
func (p profileFlags) start() (stop func() error, err error) {
	if p.cpu != "" && p.cpu == p.mem {
		return nil, usageError("--cpuprofile and --memprofile are both %s: give each its own file", p.cpu)
	}
	var cpu, mem *os.File
	if p.cpu != "" {
		if cpu, err = os.Create(p.cpu); err != nil {
			return nil, usageError("--cpuprofile: %v", err)
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, withCode(exitInternal, fmt.Errorf("--cpuprofile: %w", err))
		}
	}
	if p.mem != "" {
		if mem, err = os.Create(p.mem); err != nil {
			if cpu != nil {
				pprof.StopCPUProfile()
				cpu.Close()
			}
			return nil, usageError("--memprofile: %v", err)
		}
	}
	return func() error {
		var errs []error
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				errs = append(errs, fmt.Errorf("--cpuprofile: %w", err))
			}
		}
		if mem != nil {
			runtime.GC() // the heap as it is live, not the garbage since the last cycle
			if err := pprof.WriteHeapProfile(mem); err != nil {
				errs = append(errs, fmt.Errorf("--memprofile: %w", err))
			}
			if err := mem.Close(); err != nil {
				errs = append(errs, fmt.Errorf("--memprofile: %w", err))
			}
		}
		return errors.Join(errs...)
	}, nil
}

// profiled runs work under the profiles p asks for. A profile that cannot
// be finished fails a command that succeeded, and is a warning after one
// that failed (its own error is the one that counts).
func profiled(p profileFlags, e *env, work func() error) error {
	stop, err := p.start()
	if err != nil {
		return err
	}
	err = work()
	if perr := stop(); perr != nil {
		if err == nil {
			return withCode(exitInternal, perr)
		}
		fmt.Fprintf(e.stderr, "eixamsim: warning: %v\n", perr)
	}
	return err
}
