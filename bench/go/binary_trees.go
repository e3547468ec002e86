// binary_trees.go — binary-trees (bench/binary_trees.c) in Go; same output.
// Usage: binary-trees [max_depth]   (default 21; at least 6)
package main

import (
	"fmt"
	"os"
	"strconv"
)

type node struct {
	left, right *node
}

// makeTree builds a perfect tree of the given depth, children first.
func makeTree(depth int) *node {
	counted()
	n := &node{}
	if depth > 0 {
		n.left = makeTree(depth - 1)
		n.right = makeTree(depth - 1)
	}
	return n
}

// check counts the nodes.
func (n *node) check() int64 {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.check() + n.right.check()
}

func main() {
	max := 21
	if len(os.Args) > 1 {
		max, _ = strconv.Atoi(os.Args[1])
	}
	if max < 6 {
		max = 6
	}
	benchStart()
	firstGC := seenGC

	stretch := makeTree(max + 1)
	fmt.Printf("stretch tree of depth %d\t check: %d\n", max+1, stretch.check())
	stretch = nil

	longLived := makeTree(max)
	for d := 4; d <= max; d += 2 {
		iters := int64(1) << uint(max-d+4)
		var sum int64
		for i := int64(0); i < iters; i++ {
			sum += makeTree(d).check()
		}
		fmt.Printf("%d\t trees of depth %d\t check: %d\n", iters, d, sum)
	}
	fmt.Printf("long lived tree of depth %d\t check: %d\n", max, longLived.check())
	benchFinish("binary-trees", firstGC)
}
