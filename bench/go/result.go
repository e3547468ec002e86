// result.go — what every Go benchmark measures and how it reports it, the
// same RESULT line as the C variants (bench/result.h):
//
//	RESULT bench=B impl=go wall_s=W cpu_s=C maxrss_kb=K gcs=N
//	       pause_p50_ms=P pause_p99_ms=Q pause_max_ms=M
//
// Built together with one benchmark file: go build -o x result.go churn.go
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"syscall"
	"time"
)

// The runtime keeps only the last 256 pauses (MemStats.PauseNs), so the
// benchmarks poll every pollEvery allocations, as the cgc variant does. A
// cycle needs at least 4 MiB of new allocation, far more than pollEvery
// objects, so no pause is lost between polls. debug.ReadGCStats reads the
// same ring as runtime.ReadMemStats but without stopping the world.
const pollEvery = 4096

var (
	allocs  int
	start   time.Time
	pauses  []time.Duration
	seenGC  int64
	gcStats debug.GCStats
)

// benchStart starts the wall clock and notes the cycles already done.
func benchStart() {
	debug.ReadGCStats(&gcStats)
	seenGC = gcStats.NumGC
	start = time.Now()
}

// counted is called on every allocation; it polls every pollEvery calls.
func counted() {
	allocs++
	if allocs >= pollEvery {
		poll()
	}
}

// poll records the pauses of the cycles completed since the last poll.
// gcStats.Pause is most recent first and holds up to 256 cycles.
func poll() {
	allocs = 0
	debug.ReadGCStats(&gcStats)
	n := gcStats.NumGC - seenGC
	if n > int64(len(gcStats.Pause)) {
		fmt.Fprintf(os.Stderr, "warning: %d pauses fell out of the ring unseen\n", n-int64(len(gcStats.Pause)))
		n = int64(len(gcStats.Pause))
	}
	for i := int64(0); i < n; i++ {
		pauses = append(pauses, gcStats.Pause[i])
	}
	seenGC = gcStats.NumGC
}

// pctMs is the nearest-rank percentile of the sorted pauses in ms: the
// pause at index ceil(q*n)-1.
func pctMs(q float64) float64 {
	n := len(pauses)
	if n == 0 {
		return 0
	}
	rank := int(q*float64(n) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	return float64(pauses[rank-1]) / 1e6
}

// benchFinish stops the clocks and prints the RESULT line.
func benchFinish(bench string, firstGC int64) {
	wall := time.Since(start).Seconds()
	poll()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := float64(ru.Utime.Sec) + float64(ru.Utime.Usec)/1e6 +
		float64(ru.Stime.Sec) + float64(ru.Stime.Usec)/1e6
	sort.Slice(pauses, func(i, j int) bool { return pauses[i] < pauses[j] })
	max := 0.0
	if len(pauses) > 0 {
		max = float64(pauses[len(pauses)-1]) / 1e6
	}
	fmt.Printf("RESULT bench=%s impl=go wall_s=%.3f cpu_s=%.3f maxrss_kb=%d gcs=%d "+
		"pause_p50_ms=%.3f pause_p99_ms=%.3f pause_max_ms=%.3f\n",
		bench, wall, cpu, ru.Maxrss, seenGC-firstGC, pctMs(0.50), pctMs(0.99), max)
}
