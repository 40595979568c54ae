package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Environment records where and how a benchmark ran, so that a number in a
// report can be traced to a machine, a build and a command line.
type Environment struct {
	Timestamp     time.Time   `json:"timestamp"`
	CommandLine   []string    `json:"command_line"`
	GoVersion     string      `json:"go_version"`
	OS            string      `json:"os"`
	Arch          string      `json:"arch"`
	CPUModel      string      `json:"cpu_model"`
	LogicalCPUs   int         `json:"logical_cpus"`
	PhysicalCores int         `json:"physical_cores,omitempty"` // 0: unknown
	GOMAXPROCS    int         `json:"gomaxprocs"`
	MemTotalBytes uint64      `json:"mem_total_bytes,omitempty"`
	Hostname      string      `json:"hostname,omitempty"`
	Commit        string      `json:"commit"`
	CommitSource  string      `json:"commit_source,omitempty"` // "buildinfo" or "git"
	Modified      bool        `json:"modified,omitempty"`      // working tree had changes
	Server        *ServerInfo `json:"server,omitempty"`        // serving benchmarks only
}

// ServerInfo is what a serving benchmark learned about the server it loaded.
type ServerInfo struct {
	BaseURL     string          `json:"base_url"`
	Models      json.RawMessage `json:"models,omitempty"` // GET /v1/models body, verbatim
	ModelIDs    []string        `json:"model_ids,omitempty"`
	ModelsError string          `json:"models_error,omitempty"`
}

// CaptureEnvironment gathers the environment facts. Every probe is best
// effort: a fact that cannot be read is left empty rather than failing the
// benchmark. args is the command line to record.
func CaptureEnvironment(ctx context.Context, args []string) Environment {
	env := Environment{
		Timestamp:   time.Now().UTC(),
		CommandLine: append([]string(nil), args...),
		GoVersion:   runtime.Version(),
		OS:          runtime.GOOS,
		Arch:        runtime.GOARCH,
		LogicalCPUs: runtime.NumCPU(),
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
	}
	env.Hostname, _ = os.Hostname()
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		env.CPUModel, env.PhysicalCores = parseCPUInfo(data)
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		env.MemTotalBytes = parseMemTotal(data)
	}
	env.Commit, env.Modified, env.CommitSource = buildCommit()
	if env.Commit == "" {
		env.Commit, env.Modified = gitCommit(ctx)
		if env.Commit != "" {
			env.CommitSource = "git"
		}
	}
	return env
}

// parseCPUInfo returns the first "model name" and the number of distinct
// (physical id, core id) pairs, which is the physical core count.
func parseCPUInfo(data []byte) (model string, cores int) {
	seen := map[string]bool{}
	var phys, core string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			// A blank line ends one processor's block.
			if phys != "" || core != "" {
				seen[phys+"/"+core] = true
			}
			phys, core = "", ""
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "model name":
			if model == "" {
				model = val
			}
		case "physical id":
			phys = val
		case "core id":
			core = val
		}
	}
	if phys != "" || core != "" {
		seen[phys+"/"+core] = true
	}
	return model, len(seen)
}

func parseMemTotal(data []byte) uint64 {
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseUint(f[0], 10, 64)
				if err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}

// buildCommit reads the VCS stamp the Go toolchain embeds (absent when built
// with -buildvcs=false or from a test binary).
func buildCommit() (commit string, modified bool, source string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", false, ""
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if commit == "" {
		return "", false, ""
	}
	return commit, modified, "buildinfo"
}

// gitCommit asks git about the current directory; it fails quietly outside a
// repository or without git installed.
func gitCommit(ctx context.Context) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "", false
	}
	commit := strings.TrimSpace(string(out))
	st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output()
	return commit, err == nil && len(bytes.TrimSpace(st)) > 0
}
