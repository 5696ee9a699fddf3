package main

import (
	"context"
	"errors"
	"io"
)

// runServe runs the reference backend (refbackend) until ctx ends.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("serve: not implemented yet")
}
