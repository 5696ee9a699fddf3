package procs

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
)

// Worker is one worker process of a run.
type Worker struct {
	Index int
	PID   int
	// Dir is its shard's result directory.
	Dir string
	cmd *exec.Cmd
	// input is the parent's end of the worker's steps pipe (Config.Steps);
	// nil without one.
	input *os.File
	// io is every goroutine that reads the worker's pipes; Wait waits for
	// it before the process is reaped.
	io sync.WaitGroup
}

// String names the worker as its messages do: "worker 2 (pid 1234)".
func (w *Worker) String() string { return fmt.Sprintf("worker %d (pid %d)", w.Index, w.PID) }

// Exit is how a worker ended.
type Exit struct {
	Worker *Worker
	// Code is the exit status; -1 when a signal ended it.
	Code int
	// Err is the wait error as exec gives it ("signal: killed", "exit
	// status 2"); nil for status 0.
	Err error
	// Results says whether the worker left this run's summary.json in its
	// shard's directory: the run's id, its shard, and a start no earlier
	// than the run's (Config.ownResults).
	Results bool
}

// VerdictCodes are the exit codes of a worker that ran its shard to a
// verdict and wrote its results (docs/ci.md): 0 passed, 4
// generator-bound, 5 not judged (too short to judge the generator), 99
// thresholds failed, 100 aborted, 130 interrupted.
// Any other code (1 failed, 2 bad input, 3 unreachable or nothing
// measured) or a signal is a failed shard, whatever its directory holds.
var VerdictCodes = []int{0, 4, 5, 99, 100, 130}

// Died reports whether the worker's shard failed: killed by a signal,
// exited with a code that is not a verdict, or without this run's
// results. Its shard is not merged.
func (e Exit) Died() bool { return e.Code < 0 || !slices.Contains(VerdictCodes, e.Code) || !e.Results }

// String says how the worker ended: "worker 2 (pid 1234) died: signal:
// killed".
func (e Exit) String() string {
	switch {
	case e.Code < 0:
		return fmt.Sprintf("%s died: %v", e.Worker, e.Err)
	case !slices.Contains(VerdictCodes, e.Code):
		return fmt.Sprintf("%s failed: exit status %d is not a verdict (docs/ci.md)", e.Worker, e.Code)
	case !e.Results:
		return fmt.Sprintf("%s exited with status %d without this run's results", e.Worker, e.Code)
	}
	return fmt.Sprintf("%s exited with status %d", e.Worker, e.Code)
}

// startWorker starts exe with args as worker i: its Status lines go to
// status, each line of its stdout and stderr to output (if not nil); with
// steps, it gets a pipe to read on StepsFD, written with Send. The worker runs in
// its own process group, so a Ctrl-C at the terminal reaches only the
// parent, which forwards it once (a second SIGINT would stop a worker at
// once, without results); it gets SIGTERM if the parent dies.
func startWorker(i int, exe string, args []string, dir string, steps bool, status func(int, Status), output func(w *Worker, line string, stderr bool)) (*Worker, error) {
	var files []*os.File // closed on failure; the worker's ends after its start
	fail := func(err error) (*Worker, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, fmt.Errorf("worker %d: %w", i, err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	files = append(files, pr, pw)
	cmd := exec.Command(exe, args...)
	cmd.ExtraFiles = []*os.File{pw} // fd 3 (StatusFD)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	w := &Worker{Index: i, Dir: dir, cmd: cmd}
	if steps {
		sr, sw, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		files = append(files, sr, sw)
		cmd.ExtraFiles = append(cmd.ExtraFiles, sr) // fd 4 (StepsFD)
		w.input = sw
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fail(err)
	}
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	for _, f := range cmd.ExtraFiles {
		f.Close() // the worker holds its ends
	}
	w.PID = cmd.Process.Pid
	w.io.Add(3)
	go func() {
		defer w.io.Done()
		defer pr.Close()
		readStatus(pr, func(s Status) { status(i, s) })
	}()
	for k, r := range []io.Reader{stdout, stderr} {
		go func() {
			defer w.io.Done()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64*1024), 1024*1024)
			for sc.Scan() {
				if output != nil {
					output(w, sc.Text(), k == 1)
				}
			}
			_, _ = io.Copy(io.Discard, r) // a line past the buffer: drain, or the worker blocks
		}()
	}
	return w, nil
}

// readStatus decodes Status lines from r until it ends; a line that does
// not decode is skipped.
func readStatus(r io.Reader, each func(Status)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 256*1024), 16*1024*1024)
	for sc.Scan() {
		var s Status
		if json.Unmarshal(sc.Bytes(), &s) == nil {
			each(s)
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// Send writes one line (a newline is added) to the worker's steps pipe
// (Config.Steps). It fails once the worker has exited or CloseInput was
// called.
func (w *Worker) Send(line []byte) error {
	if w.input == nil {
		return errors.New("procs: the worker has no steps pipe")
	}
	_, err := w.input.Write(append(line, '\n'))
	return err
}

// CloseInput closes the worker's steps pipe: the worker reads its end.
// Safe to call more than once.
func (w *Worker) CloseInput() {
	if w.input != nil {
		_ = w.input.Close()
	}
}

// signal sends sig to the worker (an error once it has exited is
// ignored).
func (w *Worker) signal(sig os.Signal) { _ = w.cmd.Process.Signal(sig) }

// wait waits for the worker's pipes to close and the process to end.
func (w *Worker) wait() Exit {
	w.io.Wait()
	w.CloseInput()
	err := w.cmd.Wait()
	e := Exit{Worker: w, Err: err}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		e.Code = ee.ExitCode() // -1 when signalled
	default:
		e.Code = -1
	}
	return e
}
