// result.go — what every Go benchmark measures and how it reports it, the
// same RESULT line as the C variants (bench/result.h):
//
//	RESULT bench=B impl=go wall_s=W cpu_s=C maxrss_kb=K gcs=N
//	       pause_p50_ms=P pause_p99_ms=Q pause_max_ms=M
//	       gap_max_ms=G gap_p999_ms=H gaps_1ms=A gaps_10ms=B gap_every=E
//	       [fill_gap_max_ms=F fill_pause_max_ms=P]
//
// (the fill_* fields after benchSteady, as in the C programs).
//
// Built together with one benchmark file: go build -o x result.go churn.go
package main

import (
	"fmt"
	"math/bits"
	"os"
	"runtime/debug"
	"sort"
	"syscall"
	"time"
	_ "unsafe" // go:linkname
)

// nanotime is the runtime's monotonic clock (one vDSO call); time.Now
// reads the wall clock as well.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// gapEvery: the clock is read every gapEvery allocations and the time
// between two reads is one gap, what the program waited; the same
// sampling as the C programs (BENCH_GAP_EVERY in bench/result.h).
const gapEvery = 64

// gapBuckets: quarter-octave histogram of the gaps (see bench/result.c).
const gapBuckets = 256

// The runtime keeps only the last 256 pauses (MemStats.PauseNs), so the
// benchmarks poll every pollEvery allocations, as the cgc variant does. A
// cycle needs at least 4 MiB of new allocation, far more than pollEvery
// objects, so no pause is lost between polls. debug.ReadGCStats reads the
// same ring as runtime.ReadMemStats but without stopping the world.
const pollEvery = 4096

var (
	allocs  int
	ticks   int
	start   time.Time
	pauses  []time.Duration
	seenGC  int64
	gcStats debug.GCStats

	lastTick                        int64
	gapHist                         [gapBuckets]uint64
	gapCount, gapMax, gaps1, gaps10 uint64

	// The start-up's worst gap and longest pause, kept apart by benchSteady.
	steady                   bool
	fillGapMax, fillPauseMax uint64
)

// gapBucket is the histogram bucket of a gap of ns nanoseconds: 0..7 their
// own; above, the octave times 4 plus the next two bits.
func gapBucket(ns uint64) int {
	if ns < 8 {
		return int(ns)
	}
	msb := 63 - bits.LeadingZeros64(ns)
	return msb<<2 | int((ns>>(msb-2))&3)
}

// gapBucketTop is the largest gap in bucket b.
func gapBucketTop(b int) uint64 {
	if b < 8 {
		return uint64(b)
	}
	msb, sub := b>>2, b&3
	return uint64(5+sub)<<(msb-2) - 1
}

// tick records the gap since the previous one; every pollEvery
// allocations it polls the pause record.
func tick() {
	allocs = 0
	now := nanotime()
	gap := uint64(now - lastTick)
	lastTick = now
	gapHist[gapBucket(gap)]++
	gapCount++
	if gap > gapMax {
		gapMax = gap
	}
	if gap > 1000000 {
		gaps1++
	}
	if gap > 10000000 {
		gaps10++
	}
	ticks++
	if ticks >= pollEvery/gapEvery {
		ticks = 0
		poll()
	}
}

// gapPctMs is the gap in ms with at least q of all gaps at or below it, to
// within a bucket.
func gapPctMs(q float64) float64 {
	if gapCount == 0 {
		return 0
	}
	rank := uint64(q*float64(gapCount) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for b := 0; b < gapBuckets; b++ {
		seen += gapHist[b]
		if seen >= rank {
			top := gapBucketTop(b)
			if top > gapMax {
				top = gapMax
			}
			return float64(top) / 1e6
		}
	}
	return float64(gapMax) / 1e6
}

// benchSteady marks the end of the start-up (churn's fill): its worst gap
// and longest pause are kept apart, and the gap and pause record starts
// again, so that it describes the steady state at the full live heap.
func benchSteady() {
	poll()
	now := nanotime()
	fillGapMax = gapMax
	if g := uint64(now - lastTick); g > fillGapMax {
		fillGapMax = g
	}
	for _, p := range pauses {
		if uint64(p) > fillPauseMax {
			fillPauseMax = uint64(p)
		}
	}
	pauses = pauses[:0]
	gapHist = [gapBuckets]uint64{}
	gapCount, gapMax, gaps1, gaps10 = 0, 0, 0, 0
	lastTick = now
	allocs = 0
	steady = true
}

// benchStart starts the wall clock and notes the cycles already done.
func benchStart() {
	debug.ReadGCStats(&gcStats)
	seenGC = gcStats.NumGC
	start = time.Now()
	lastTick = nanotime()
}

// counted is called on every allocation; it takes a gap sample every
// gapEvery calls.
func counted() {
	allocs++
	if allocs >= gapEvery {
		tick()
	}
}

// poll records the pauses of the cycles completed since the last poll.
// gcStats.Pause is most recent first and holds up to 256 cycles.
func poll() {
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
		"pause_p50_ms=%.3f pause_p99_ms=%.3f pause_max_ms=%.3f "+
		"gap_max_ms=%.3f gap_p999_ms=%.3f gaps_1ms=%d gaps_10ms=%d gap_every=%d",
		bench, wall, cpu, ru.Maxrss, seenGC-firstGC, pctMs(0.50), pctMs(0.99), max,
		float64(gapMax)/1e6, gapPctMs(0.999), gaps1, gaps10, gapEvery)
	if steady {
		fmt.Printf(" fill_gap_max_ms=%.3f fill_pause_max_ms=%.3f", float64(fillGapMax)/1e6,
			float64(fillPauseMax)/1e6)
	}
	fmt.Println()
}
