package main

import (
	"context"
	"fmt"
	"io"
)

// runQueue is replaced by the real command; until then it says so.
func runQueue(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "posagent queue: not yet")
	return 3
}
