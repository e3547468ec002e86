// churn.go — the pause benchmark (bench/churn.c) in Go: same generator,
// same sizes, same table, same checksum line.
// Usage: churn [slots_log2 [allocations]]   (default 19 and 20000000)
package main

import (
	"fmt"
	"os"
	"strconv"
	"unsafe"
)

// record mirrors the C struct; its allocation is padded to `size` bytes by
// allocating it inside a larger pointer-bearing block (see makeRecord).
type record struct {
	child     *byte // pointer-free buffer or nil
	size      uint32
	childSize uint32
	tag       uint64
}

var rngState uint64 = 88172645463325252

// rng is xorshift64, as in churn.c.
func rng() uint64 {
	rngState ^= rngState << 13
	rngState ^= rngState >> 7
	rngState ^= rngState << 17
	return rngState
}

// makeRecord allocates a record of 16..143 bytes (a []unsafe.Pointer
// block, so the whole object is scanned like a cgc_malloc object) and, one
// time in 16, a pointer-free child of 16..1515 bytes.
func makeRecord(step uint64) *record {
	size := uint32(16 + rng()%128)
	if size < uint32(unsafe.Sizeof(record{})) {
		size = uint32(unsafe.Sizeof(record{}))
	}
	counted()
	block := make([]unsafe.Pointer, (size+7)/8)
	r := (*record)(unsafe.Pointer(&block[0]))
	r.size = size
	r.tag = step
	if rng()%16 == 0 {
		cs := uint32(16 + rng()%1500)
		counted()
		child := make([]byte, cs)
		child[0] = byte(step)
		child[cs-1] = byte(step >> 8)
		r.child = &child[0]
		r.childSize = cs
	}
	return r
}

func main() {
	slotsLog2 := 19
	allocations := int64(20000000)
	if len(os.Args) > 1 {
		slotsLog2, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		allocations, _ = strconv.ParseInt(os.Args[2], 10, 64)
	}
	if slotsLog2 < 4 || slotsLog2 > 28 {
		slotsLog2 = 19
	}
	nslots := uint64(1) << uint(slotsLog2)
	benchStart()
	firstGC := seenGC

	table := make([]*record, nslots)
	for i := uint64(0); i < nslots; i++ {
		table[i] = makeRecord(i)
	}
	// The gap and pause record covers the replacement loop (result.go).
	benchSteady()
	for step := int64(0); step < allocations; step++ {
		k := rng() & (nslots - 1)
		table[k] = makeRecord(nslots + uint64(step))
	}

	var sum, live uint64
	for _, r := range table {
		sum = sum*31 + r.tag + uint64(r.size) + uint64(r.childSize)
		live += uint64(r.size)
		if r.child != nil {
			c := unsafe.Slice(r.child, r.childSize)
			sum += uint64(c[0])*7 + uint64(c[r.childSize-1]) + uint64(c[r.childSize/2])*13
			live += uint64(r.childSize)
		}
	}
	fmt.Printf("churn slots=%d allocations=%d live_bytes=%d checksum=%016x\n",
		nslots, allocations, live, sum)
	benchFinish("churn", firstGC)
}
