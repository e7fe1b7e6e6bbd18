package main

import (
	"context"
	"fmt"
	"io"
)

// runDemo is replaced by the real command; until then it says so.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "posagent demo: not yet")
	return 3
}
