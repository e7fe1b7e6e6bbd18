package main

import (
	"context"
	"fmt"
	"io"
)

// runReaders is replaced by the real command; until then it says so.
func runReaders(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "posagent readers: not yet")
	return 3
}
