package main

import (
	"context"
	"fmt"
	"io"
)

// runTap is replaced by the real command; until then it says so.
func runTap(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "posagent tap: not yet")
	return 3
}
