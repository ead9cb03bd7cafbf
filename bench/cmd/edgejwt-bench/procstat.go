package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc: 100 on every
// Linux architecture Envoy ships for.
const clockTicks = 100

// procCPU is the CPU time, user plus system, that a process (all its threads)
// has used, in seconds: fields 14 and 15 of /proc/<pid>/stat.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return float64(ut+st) / clockTicks, nil
}

// procStatusKB reads one "Name:   123 kB" line of /proc/<pid>/status.
func procStatusKB(pid int, name string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+":") {
			continue
		}
		fs := strings.Fields(line[len(name)+1:])
		if len(fs) == 0 {
			break
		}
		return strconv.ParseInt(fs[0], 10, 64)
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, name)
}

// resetPeakRSS resets the process's VmHWM to its current RSS (writing 5 to
// clear_refs, Linux 4.0+), so that VmHWM read after a run is that run's peak.
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// cpuTimes is the busy and total time of each CPU from /proc/stat, in seconds.
type cpuTimes struct {
	busy  []float64
	total []float64
}

func readCPUTimes() (cpuTimes, error) {
	var ct cpuTimes
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return ct, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		idx, err := strconv.Atoi(f[0][3:])
		if err != nil {
			continue
		}
		var v [8]float64
		for k := 0; k < 8; k++ {
			n, _ := strconv.ParseUint(f[k+1], 10, 64)
			v[k] = float64(n) / clockTicks
		}
		// user nice system idle iowait irq softirq steal
		busy := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
		total := busy + v[3] + v[4]
		for len(ct.busy) <= idx {
			ct.busy = append(ct.busy, 0)
			ct.total = append(ct.total, 0)
		}
		ct.busy[idx], ct.total[idx] = busy, total
	}
	return ct, nil
}

// busyFraction is how busy CPU cpu was between a and b (0..1), -1 if unknown.
func busyFraction(a, b cpuTimes, cpu int) float64 {
	if cpu >= len(a.busy) || cpu >= len(b.busy) {
		return -1
	}
	dt := b.total[cpu] - a.total[cpu]
	if dt <= 0 {
		return -1
	}
	return (b.busy[cpu] - a.busy[cpu]) / dt
}

// busySeconds is the CPU time all CPUs spent busy between a and b.
func busySeconds(a, b cpuTimes) float64 {
	var s float64
	for i := range b.busy {
		if i < len(a.busy) {
			s += b.busy[i] - a.busy[i]
		}
	}
	return s
}
