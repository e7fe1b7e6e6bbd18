package main

import (
	"context"
	"fmt"
	"io"
)

// runTrace is replaced by the real command; until then it says so.
func runTrace(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "posagent trace: not yet")
	return 3
}
