// churn.go — the soft-limit workload in Go: the same algorithm as
// bench/limit/churn.c, step for step (same xorshift64* sequence, same blob
// sizes, same item graph), so Go's collector does the same work as cgc's
// and the Boehm collector's. See churn.c for the description.
//
//	churn-go [--live-mib N] [--alloc-mib N | --alloc-gib N] [--seed N]
//	         [--touch all|ends]
//
// A node is a struct with a pointer to the next node and a []uint64 blob
// (pointer-free, so Go does not scan it, as cgc_malloc_atomic blobs are not
// scanned). make() zeroes every blob, as the C programs' memset does.
// The clock is read once per step, as in churn.c (gap_max_ms, gaps_1ms,
// gaps_10ms). Exit status: 0 done, 2 bad usage, 3 a corrupted object.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"
	_ "unsafe" // go:linkname
)

// nanotime is the runtime's monotonic clock (one vDSO call, as C's
// clock_gettime).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

type node struct {
	next *node
	blob []uint64
	seed uint64
}

// Counted as in C: 32 bytes per node plus the blob.
const nodeBytes = 32

// See MEAN_ITEM_BYTES in churn.c.
const meanItemBytes = 5 * (2444 + 32) / 2

const fillK = 0x9E3779B97F4A7C15

// touchEnds: --touch ends, only the first and last word of each blob are
// written and checked (see churn.c).
var touchEnds bool

var rngState uint64

// rnd is xorshift64*, bit for bit the generator of churn.c.
func rnd() uint64 {
	rngState ^= rngState >> 12
	rngState ^= rngState << 25
	rngState ^= rngState >> 27
	return rngState * 2685821657736338717
}

// blobSize draws a size as churn.c's blob_size does.
func blobSize() uint64 {
	r := rnd()
	var lo, n uint64
	switch r % 16 {
	case 0:
		lo, n = 13, 3
	case 1, 2, 3:
		lo, n = 9, 4
	default:
		lo, n = 4, 5
	}
	e := lo + (r>>8)%n
	size := (uint64(1) << e) + (r>>16)%(uint64(1)<<e)
	return (size + 15) &^ 15
}

// makeItem builds one item; returns it and its bytes.
func makeItem() (*node, uint64) {
	k := 1 + rnd()%4
	var head *node
	var bytes uint64
	for i := uint64(0); i < k; i++ {
		n := &node{}
		size := blobSize()
		n.seed = rnd()
		n.blob = make([]uint64, size/8)
		if touchEnds {
			last := len(n.blob) - 1
			n.blob[0] = n.seed * fillK
			n.blob[last] = (n.seed + uint64(last)) * fillK
		} else {
			for j := range n.blob {
				n.blob[j] = (n.seed + uint64(j)) * fillK
			}
		}
		n.next = head
		head = n
		bytes += nodeBytes + size
	}
	return head, bytes
}

// verifyItem checks every word of an item; returns its bytes.
func verifyItem(n *node) uint64 {
	var bytes uint64
	for ; n != nil; n = n.next {
		step := 1
		if touchEnds && len(n.blob) > 1 {
			step = len(n.blob) - 1 // word 0, then straight to the last
		}
		for j := 0; j < len(n.blob); j += step {
			if n.blob[j] != (n.seed+uint64(j))*fillK {
				fmt.Fprintf(os.Stderr, "churn: corrupted blob word %d\n", j)
				os.Exit(3)
			}
		}
		// ends: a word never written is still zero (as in churn.c).
		if touchEnds && len(n.blob) > 2 && n.blob[len(n.blob)/2] != 0 {
			fmt.Fprintf(os.Stderr, "churn: blob word %d not zeroed\n", len(n.blob)/2)
			os.Exit(3)
		}
		bytes += nodeBytes + uint64(len(n.blob))*8
	}
	return bytes
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: churn-go [--live-mib N] [--alloc-mib N | --alloc-gib N] [--seed N] [--touch all|ends]")
	os.Exit(2)
}

func main() {
	liveMiB, allocMiB, seed := uint64(60), uint64(4096), uint64(1)
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		if i+1 >= len(args) {
			usage()
		}
		if args[i] == "--touch" {
			switch args[i+1] {
			case "all", "ends":
				touchEnds = args[i+1] == "ends"
			default:
				usage()
			}
			i++
			continue
		}
		v, err := strconv.ParseUint(args[i+1], 10, 64)
		if err != nil {
			usage()
		}
		switch args[i] {
		case "--live-mib":
			liveMiB = v
		case "--alloc-mib":
			allocMiB = v
		case "--alloc-gib":
			allocMiB = v << 10
		case "--seed":
			seed = v
		default:
			usage()
		}
		i++
	}
	rngState = seed*0x2545F4914F6CDD1D + 1
	target, budget := liveMiB<<20, allocMiB<<20
	nslots := 2*target/meanItemBytes + 64
	slots := make([]*node, nslots)

	t0 := time.Now()
	var live, allocated, checks, nextSample, retainedMax uint64
	var ms runtime.MemStats
	var gapMax, gaps1, gaps10 int64
	last := nanotime()
	for allocated < budget {
		now := nanotime()
		gap := now - last
		last = now
		if gap > gapMax {
			gapMax = gap
		}
		if gap > 1000000 {
			gaps1++
		}
		if gap > 10000000 {
			gaps10++
		}
		i := rnd() % nslots
		if slots[i] != nil {
			live -= verifyItem(slots[i])
			slots[i] = nil
			checks++
		}
		if live < target {
			item, bytes := makeItem()
			slots[i] = item
			live += bytes
			allocated += bytes
		}
		if allocated >= nextSample {
			// ReadMemStats stops the world: only every 64 MiB.
			runtime.ReadMemStats(&ms)
			if ms.Sys-ms.HeapReleased > retainedMax {
				retainedMax = ms.Sys - ms.HeapReleased
			}
			nextSample += 64 << 20
		}
	}
	for _, it := range slots {
		if it != nil {
			verifyItem(it)
			checks++
		}
	}
	wall := time.Since(t0).Seconds()

	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
	runtime.ReadMemStats(&ms)
	const mib = 1 << 20
	fmt.Printf("RESULT impl=go status=ok live_mib=%.1f alloc_mib=%d wall_s=%.3f cpu_s=%.3f maxrss_mib=%.1f checks=%d"+
		" gap_max_ms=%.3f gaps_1ms=%d gaps_10ms=%d collections=%d sys_mib=%.1f heap_released_mib=%.1f retained_mib=%.1f next_gc_mib=%.1f"+
		" mem_limit=%d gc_cpu_fraction=%.3f pause_total_ms=%.1f retained_max_mib=%.1f\n",
		float64(live)/mib, allocated>>20, wall, cpu, float64(ru.Maxrss)/1024, checks,
		float64(gapMax)/1e6, gaps1, gaps10, ms.NumGC, float64(ms.Sys)/mib, float64(ms.HeapReleased)/mib, float64(ms.Sys-ms.HeapReleased)/mib,
		float64(ms.NextGC)/mib, debug.SetMemoryLimit(-1), ms.GCCPUFraction,
		float64(ms.PauseTotalNs)/1e6, float64(retainedMax)/mib)
}
