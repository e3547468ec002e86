// gcbench.go — GCBench (bench/gcbench.c) in Go; same output.
// Usage: gcbench [max_depth]   (default 16; at least 4)
package main

import (
	"fmt"
	"os"
	"strconv"
)

const (
	arraySize = 500000
	minDepth  = 4
)

type gnode struct {
	left, right *gnode
	i, j        int32
}

// treeSize is the node count of a perfect tree: 2^(depth+1) - 1.
func treeSize(depth int) int64 { return int64(1)<<uint(depth+1) - 1 }

func newNode(l, r *gnode) *gnode {
	counted()
	return &gnode{left: l, right: r}
}

// populate: top-down, the parent exists before its children.
func populate(depth int, n *gnode) {
	if depth <= 0 {
		return
	}
	depth--
	n.left = newNode(nil, nil)
	n.right = newNode(nil, nil)
	populate(depth, n.left)
	populate(depth, n.right)
}

// makeTree: bottom-up, children first.
func makeTree(depth int) *gnode {
	if depth <= 0 {
		return newNode(nil, nil)
	}
	l := makeTree(depth - 1)
	return newNode(l, makeTree(depth-1))
}

func count(n *gnode) int64 {
	if n == nil {
		return 0
	}
	return 1 + count(n.left) + count(n.right)
}

// timeConstruction builds and drops N(depth) trees each way.
func timeConstruction(depth, stretchDepth int) {
	iters := 2 * treeSize(stretchDepth) / treeSize(depth)
	fmt.Printf("Creating %d trees of depth %d\n", iters, depth)
	var nodes int64
	for i := int64(0); i < iters; i++ {
		t := newNode(nil, nil)
		populate(depth, t)
		if t.left != nil {
			nodes++
		}
	}
	fmt.Printf("\tTop down construction: %d trees\n", nodes)
	nodes = 0
	for i := int64(0); i < iters; i++ {
		if makeTree(depth).right != nil {
			nodes++
		}
	}
	fmt.Printf("\tBottom up construction: %d trees\n", nodes)
}

func main() {
	max := 16
	if len(os.Args) > 1 {
		max, _ = strconv.Atoi(os.Args[1])
	}
	if max < minDepth {
		max = minDepth
	}
	stretchDepth := max + 2
	benchStart()
	firstGC := seenGC

	fmt.Printf("Garbage Collector Test\n")
	fmt.Printf(" Stretching memory with a binary tree of depth %d\n", stretchDepth)
	makeTree(stretchDepth)

	fmt.Printf(" Creating a long-lived binary tree of depth %d\n", max)
	longLived := newNode(nil, nil)
	populate(max, longLived)

	fmt.Printf(" Creating a long-lived array of %d doubles\n", arraySize)
	counted()
	array := make([]float64, arraySize)
	for i := 0; i < arraySize/2; i++ {
		array[i] = 1.0 / float64(i)
	}

	for d := minDepth; d <= max; d += 2 {
		timeConstruction(d, stretchDepth)
	}

	n := count(longLived)
	if n != treeSize(max) || array[1000] != 1.0/1000 {
		fmt.Printf("Failed: long-lived tree has %d nodes, array[1000] = %g\n", n, array[1000])
		os.Exit(1)
	}
	fmt.Printf(" Long-lived tree (%d nodes) and array survived\n", n)
	benchFinish("gcbench", firstGC)
}
